// Which of Azle 0.33's examples the IC-conformance benchmark replays, and the update calls each
// one's own test/tests.ts makes (arguments written out from those files; the examples themselves
// are read from an Azle checkout at run time, never copied here). Only examples that build
// offline with ShardORM's node_modules, need one canister, no dfx-only service (management
// canister, HTTP outcalls, ledgers) and no random test data are listed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';

export interface ExampleCall {
  /** The update method; or 'init' (the install, first), 'postUpgrade' (an upgrade), 'heartbeat' (rounds). */
  method: string;
  /** Candid argument types and values; none for a method without arguments. */
  arg?: [IDL.Type[], unknown[]];
  /** For 'heartbeat': how many rounds to run (one heartbeat each). */
  rounds?: number;
}

export interface Example {
  /** Folder under examples/stable/test/end_to_end/candid_rpc of the Azle checkout. */
  dir: string;
  /** Canister name in the example's dfx.json (and key in its benchmarks.json). */
  canister: string;
  /** The calls, in test order; `repo` is the Azle checkout (for examples reading test files). */
  calls(repo: string): ExampleCall[];
}

/** Any 29-byte (self-authenticating) principal: the tests use a generated identity's. */
const SOMEONE = Principal.fromUint8Array(new Uint8Array(29).fill(7));
const nat = (n: bigint): [IDL.Type[], unknown[]] => [[IDL.Nat], [n]];
const int = (n: bigint): [IDL.Type[], unknown[]] => [[IDL.Int], [n]];
const text = (t: string): [IDL.Type[], unknown[]] => [[IDL.Text], [t]];

/** The `benchmarks` example's loop sizes; the IC's runs went to 1,000,000 (raise the cap to match). */
const LOOP_SIZES = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
const BENCHMARK_TYPES = ['blob', 'bool', 'float32', 'float64', 'int', 'int8', 'int16', 'int32', 'int64', 'nat', 'nat8', 'nat16', 'nat32', 'nat64', 'null', 'opt', 'principal', 'record', 'text', 'variant', 'vec'];
/** Azle's test skips these at ≥ 100,000 iterations (they hit the IC's limit). */
const SKIPPED_LARGE = new Set(['principalInitStack', 'principalInitHeap', 'recordInitStack', 'recordInitHeap']);

export function examples(options: { maxLoop: number }): Example[] {
  const benchmarkCalls = BENCHMARK_TYPES.flatMap((t) => [`${t}InitStack`, `${t}InitHeap`]).flatMap((method) =>
    LOOP_SIZES.filter((n) => n <= options.maxLoop && !(SKIPPED_LARGE.has(method) && n >= 100_000)).map((n) => ({ method, arg: [[IDL.Nat32], [n]] as [IDL.Type[], unknown[]] }))
  );
  const todo = ['Write tests for the simple to do list example', 'Mark this todo as complete'];
  const entry = IDL.Record({ desc: IDL.Text, phone: IDL.Text });
  return [
    { dir: 'benchmarks', canister: 'benchmarks', calls: () => benchmarkCalls },
    { dir: 'counter', canister: 'counter', calls: () => [1, 2, 3].map(() => ({ method: 'incrementCount' })) },
    { dir: 'motoko_examples/counter', canister: 'counter', calls: () => [{ method: 'set', arg: nat(10n) }, { method: 'inc' }, { method: 'inc' }] },
    { dir: 'motoko_examples/factorial', canister: 'factorial', calls: () => [0n, 5n, 20n, 50n, 100n].map((n) => ({ method: 'fac', arg: nat(n) })) },
    {
      dir: 'motoko_examples/calc',
      canister: 'calc',
      calls: () => [
        { method: 'add', arg: int(5n) },
        { method: 'sub', arg: int(2n) },
        { method: 'mul', arg: int(6n) },
        { method: 'div', arg: int(2n) },
        { method: 'clearall' },
        { method: 'add', arg: int(0n) }
      ]
    },
    { dir: 'motoko_examples/minimal-counter-dapp', canister: 'minimal_dapp', calls: () => ['count', 'count', 'reset', 'count'].map((method) => ({ method })) },
    {
      dir: 'motoko_examples/simple-to-do',
      canister: 'simple_to_do',
      calls: () => [
        { method: 'addTodo', arg: text(todo[0]) },
        { method: 'addTodo', arg: text(todo[1]) },
        { method: 'completeTodo', arg: nat(1n) },
        { method: 'clearCompleted' },
        { method: 'completeTodo', arg: nat(0n) },
        { method: 'clearCompleted' }
      ]
    },
    { dir: 'motoko_examples/phone-book', canister: 'phone_book', calls: () => [{ method: 'insert', arg: [[IDL.Text, entry], ['Test', { desc: 'This is a test record', phone: '555-555-5555' }]] }] },
    { dir: 'key_value_store', canister: 'key_value_store', calls: () => [{ method: 'set', arg: [[IDL.Text, IDL.Text], ['0', 'zero']] }, { method: 'set', arg: [[IDL.Text, IDL.Text], ['1', 'one']] }] },
    {
      dir: 'null_example',
      canister: 'null_example',
      calls: () => [
        { method: 'setPartiallyNullRecord', arg: [[IDL.Record({ firstItem: IDL.Int, secondItem: IDL.Null, thirdItem: IDL.Int })], [{ firstItem: 5n, secondItem: null, thirdItem: 15n }]] },
        { method: 'setSmallNullRecord', arg: [[IDL.Record({ firstItem: IDL.Null, secondItem: IDL.Null })], [{ firstItem: null, secondItem: null }]] },
        { method: 'setLargeNullRecord', arg: [[IDL.Record({ firstItem: IDL.Null, secondItem: IDL.Null, thirdItem: IDL.Null })], [{ firstItem: null, secondItem: null, thirdItem: null }]] }
      ]
    },
    { dir: 'update', canister: 'update', calls: () => [{ method: 'simpleUpdate', arg: text('Why hello there') }] },
    { dir: 'simple_user_accounts', canister: 'simple_user_accounts', calls: () => [{ method: 'createUser', arg: text('lastmjs') }] },
    { dir: 'hidden_methods', canister: 'hidden_methods', calls: () => ['updateUndefined', 'updateHiddenFalse', 'updateHiddenTrue'].map((method) => ({ method })) },
    {
      dir: 'bytes',
      canister: 'bytes_canister',
      calls: (repo) =>
        ['1', '10', '100', '1000', '2000'].map((kb) => ({
          method: 'getBytes',
          arg: [[IDL.Vec(IDL.Nat8)], [new Uint8Array(readFileSync(join(repo, EXAMPLES_DIR, 'bytes/test/example_files', `example_${kb}_kb.txt`)))]] as [IDL.Type[], unknown[]]
        }))
    },
    {
      dir: 'manual_reply',
      canister: 'manual_reply',
      calls: () => [
        { method: 'manualUpdate', arg: text('reject on purpose') },
        { method: 'manualUpdate', arg: text('accept') },
        ...['updateBlob', 'updateFloat32', 'updateInt8', 'updateNat', 'updateNull', 'updateVoid', 'updateRecord', 'updateReserved', 'updateString', 'updateVariant', 'updateFloat32', 'replyRaw'].map((method) => ({ method }))
      ]
    },
    // The test's last `set` takes a random value (fast-check); the first twelve calls are fixed.
    { dir: 'motoko_examples/cert-var', canister: 'cert-var', calls: () => [0, 1, 2, 3, 4, 5].flatMap((i) => [{ method: 'set', arg: [[IDL.Nat32], [i]] as [IDL.Type[], unknown[]] }, { method: 'inc' }]) },
    {
      dir: 'motoko_examples/superheroes',
      canister: 'superheroes',
      calls: () => {
        const List = IDL.Rec();
        List.fill(IDL.Tuple(IDL.Text, IDL.Opt(List)));
        const Superhero = IDL.Record({ name: IDL.Text, superpowers: IDL.Opt(List) });
        const hero = (name: string, powers: string[]): unknown => ({ name, superpowers: powers.reduceRight<unknown[]>((rest, p) => [[p, rest]], []) });
        return [
          { method: 'create', arg: [[Superhero], [hero('Spiderman', [])]] },
          { method: 'create', arg: [[Superhero], [hero('Superman', ['superhuman strength', 'flight', 'x-ray vision'])]] },
          { method: 'update', arg: [[IDL.Nat32, Superhero], [0, hero('Spiderman', ['superhuman speed', 'spider-sense', 'wall crawling', 'web shooting'])]] },
          { method: 'update', arg: [[IDL.Nat32, Superhero], [1, hero('Superman', [])]] },
          { method: 'deleteHero', arg: [[IDL.Nat32], [0]] },
          { method: 'deleteHero', arg: [[IDL.Nat32], [99]] }
        ];
      }
    },
    // Install and upgrade hooks: Azle's JavaScript start-up (~1 B instructions) dominates them.
    {
      dir: 'init',
      canister: 'init',
      calls: () => [{ method: 'init', arg: [[IDL.Record({ id: IDL.Text }), IDL.Variant({ Fire: IDL.Null, Wave: IDL.Null }), IDL.Principal], [{ id: '0' }, { Fire: null }, Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai')]] }]
    },
    { dir: 'complex_init', canister: 'complex_init', calls: () => [{ method: 'init', arg: [[IDL.Tuple(IDL.Text, IDL.Record({ id: IDL.Text }))], [['Oh hello there user', { id: '1' }]]] }] },
    {
      dir: 'complex_init',
      canister: 'rec_init',
      calls: () => {
        const Node = IDL.Rec();
        Node.fill(IDL.Variant({ Leaf: IDL.Null, Branch: Node }));
        return [{ method: 'init', arg: [[Node], [{ Branch: { Leaf: null } }]] }];
      }
    },
    { dir: 'pre_and_post_upgrade', canister: 'pre_and_post_upgrade', calls: () => [{ method: 'postUpgrade' }] },
    { dir: 'motoko_examples/persistent-storage', canister: 'persistent_storage', calls: () => [{ method: 'increment' }, { method: 'reset' }, { method: 'increment' }, { method: 'postUpgrade' }] },
    { dir: 'motoko_examples/whoami', canister: 'whoami', calls: () => [{ method: 'init', arg: [[IDL.Principal], [SOMEONE]] }, { method: 'postUpgrade', arg: [[IDL.Principal], [SOMEONE]] }] },
    { dir: 'motoko_examples/http_counter', canister: 'http_counter', calls: () => [{ method: 'init' }] },
    // One record per round; the IC's runs lasted 103 and 140 rounds.
    { dir: 'heartbeat', canister: 'heartbeat_async', calls: () => [{ method: 'heartbeat', rounds: 103 }] },
    { dir: 'heartbeat', canister: 'heartbeat_sync', calls: () => [{ method: 'heartbeat', rounds: 140 }] },
    // Methods that await the management canister (raw_rand): the IC's record stops at the await.
    { dir: 'async_await', canister: 'async_await', calls: () => ['getRandomnessDirectly', 'getRandomnessIndirectly', 'getRandomnessSuperIndirectly', 'getRandomnessSuperIndirectlyAndConcurrently', 'returnPromiseVoid'].map((method) => ({ method })) },
    {
      dir: 'cleanup_callback',
      canister: 'cleanup_callback',
      calls: () =>
        [
          'getRandomness',
          'getRandomnessWithTrapUncaught',
          'getRandomnessWithTrapCaught',
          'getRandomnessWithTrapCaughtRejectCallback',
          'getRandomnessWithTrapCaughtPromise',
          'getRandomnessWithTrapCaughtAndTrapAgain',
          'deleteAzleGlobalSettleCallbacks',
          'getRandomnessMsgRejectInReplyCallback',
          'getRandomnessMsgRejectInRejectCallback'
        ].map((method) => ({ method }))
    },
    { dir: 'event_loop', canister: 'event_loop', calls: () => [0, 2, 4, 6, 8, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((n) => ({ method: `testOrdering${n}` })) },
    // The records left after the test's last reinstall: a round, then two rounds after seedWith0.
    {
      dir: 'randomness',
      canister: 'randomness',
      calls: () => {
        const round = [...Array(5).fill('mathRandom'), ...Array(5).fill('cryptoGetRandomValues')];
        return [...round, 'seedWith0', ...round, 'seedWith0', ...round].map((method) => ({ method }));
      }
    },
    {
      dir: 'stable_b_tree_map_instruction_threshold',
      canister: 'stable_b_tree_map_instruction_threshold',
      calls: () => [
        { method: 'insertSmallRecord', arg: [[IDL.Nat32], [10_000]] },
        { method: 'insertMediumRecord', arg: [[IDL.Nat32], [5_000]] },
        { method: 'insertLargeRecord', arg: [[IDL.Nat32], [2_000]] }
      ]
    }
  ];
}

export const EXAMPLES_DIR = 'examples/stable/test/end_to_end/candid_rpc';

// The shard's native-call codecs inside a real Azle canister agree with Node: UTF-8 encoding by
// Azle's Candid encoder (every code unit class: controls, quotes, backslashes, lone surrogates,
// astral characters), fatal decoding by the URI decoder (every ill-formed sequence refused as Node
// refuses it), cached principal text, and Snippets encoded and decoded by the compiled path
// byte-identical to Node's (malformed values refused with a ValidationError).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import fc from 'fast-check';
import { join } from 'node:path';
import { codecFor, getEntityMetadata } from 'shardorm';
import { LocalReplica } from 'shardorm/replica';
import { Snippet } from '../../example-app/src/models.js';
import { buildAzleCanister } from '../../lib/build/azle.js';

type Decoded = { text: string } | { error: string };
interface CodecCanister {
  encode(units: number[][]): Promise<Uint8Array[]>;
  decode(inputs: Uint8Array[]): Promise<Decoded[]>;
  principals(ps: Principal[]): Promise<[string, string, Principal][]>;
  snippets(rows: [string, string, string, Principal, bigint][], stored: Uint8Array[]): Promise<[Uint8Array[], ({ ok: Uint8Array } | { error: string })[]]>;
}

const idl: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    encode: I.Func([I.Vec(I.Vec(I.Nat16))], [I.Vec(I.Vec(I.Nat8))], ['query']),
    decode: I.Func([I.Vec(I.Vec(I.Nat8))], [I.Vec(I.Variant({ text: I.Text, error: I.Text }))], ['query']),
    principals: I.Func([I.Vec(I.Principal)], [I.Vec(I.Tuple(I.Text, I.Text, I.Principal))], ['query']),
    snippets: I.Func(
      [I.Vec(I.Tuple(I.Text, I.Text, I.Text, I.Principal, I.Nat64)), I.Vec(I.Vec(I.Nat8))],
      [I.Tuple(I.Vec(I.Vec(I.Nat8)), I.Vec(I.Variant({ ok: I.Vec(I.Nat8), error: I.Text })))],
      ['query'],
    ),
  });

let replica: LocalReplica;
let canister: CodecCanister;

beforeAll(async () => {
  const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/codec_canister'), name: 'codec_canister' });
  replica = await LocalReplica.create({ seed: 9 });
  const id = await replica.createCanister();
  await replica.installCode({ canisterId: id, wasm: built.wasm, mode: 'install' });
  canister = replica.createActor<CodecCanister>(idl, id);
}, 180_000);

afterAll(() => replica?.tearDown());

/** Code units rich in what a Candid text literal must escape or replace. */
const unit = fc.oneof(
  fc.constantFrom(0x00, 0x07, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x22, 0x27, 0x5c, 0x7b, 0x7d, 0x7f, 0x80, 0xe9, 0x2028, 0xfeff, 0xfffd, 0xd800, 0xdbff, 0xdc00, 0xdfff),
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0, max: 0xffff }),
);
// Long enough for the native path (NATIVE_ENCODE_MIN_UNITS), short ones for the loop.
const unitStrings = fc.oneof(fc.array(unit, { minLength: 16, maxLength: 80 }), fc.array(unit, { maxLength: 15 }));

test('TextEncoder gives the bytes Node gives for every string, lone surrogates included', async () => {
  const samples = [...fc.sample(unitStrings, { numRuns: 300, seed: 1 }), Array.from('\\u{41}"\\'.repeat(6), (c) => c.charCodeAt(0)), Array.from('😀'.repeat(20), (c) => c.charCodeAt(0))];
  const ours = await canister.encode(samples);
  samples.forEach((u, i) => expect([u, Array.from(ours[i])]).toEqual([u, Array.from(new TextEncoder().encode(String.fromCharCode(...u)))]));
});

test('a fatal TextDecoder accepts and refuses exactly what Node does', async () => {
  const edgy = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xef, 0xbb, 0xbf, 0xed, 0xa0, 0x80, 0xc0, 0xc1, 0xc2, 0xe0, 0xf0, 0xf4, 0x8f, 0x90, 0xf5, 0x25, 0x41)), { maxLength: 40 });
  const valid = unitStrings.map((u) => Array.from(new TextEncoder().encode(String.fromCharCode(...u))));
  const inputs = [...fc.sample(edgy, { numRuns: 300, seed: 2 }), ...fc.sample(valid, { numRuns: 100, seed: 3 }), [0xef, 0xbb, 0xbf, 0x41]].map((a) => Uint8Array.from(a));
  const ours = await canister.decode(inputs);
  inputs.forEach((b, i) => {
    let node: Decoded;
    try {
      node = { text: new TextDecoder('utf-8', { fatal: true }).decode(b) };
    } catch (e) {
      node = { error: (e as Error).name };
    }
    expect([Array.from(b), ours[i]]).toEqual([Array.from(b), node]);
  });
});

test('principal text is cached without changing it, both ways', async () => {
  const ps = [Principal.anonymous(), Principal.managementCanister(), Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai'), ...fc.sample(fc.uint8Array({ maxLength: 29 }), { numRuns: 40, seed: 4 }).map((b) => Principal.fromUint8Array(b))];
  const answers = await canister.principals([...ps, ...ps]);
  answers.forEach(([computed, cached, parsed], i) => {
    const text = ps[i % ps.length].toText();
    expect([computed, cached, parsed.toText()]).toEqual([text, text, text]);
  });
});

test('Snippets are encoded byte for byte as in Node, and stored values decode to the same record (malformed ones refused)', async () => {
  const codec = codecFor(getEntityMetadata(Snippet));
  const me = Principal.fromText('2vxsx-fae');
  const rows: [string, string, string, Principal, bigint][] = [
    ['page', 's1', 'short', me, 1n],
    ['pâge-é', 'ß', 'x'.repeat(5000), Principal.fromUint8Array(new Uint8Array(29).fill(7)), (1n << 64n) - 1n],
    ['tab\there "quoted" \\ slash', '\u0000nul', '😀 astral \u2028 line', me, 0n],
  ];
  const node = rows.map(([pageId, id, body, owner, createdAt]) => codec.encode({ pageId, id, body, owner, createdAt }));
  const malformed = [node[0].slice(0, -1), node[0].map((x, i) => (i === node[0].length - 3 ? 0xff : x)), new Uint8Array([1, 0, 1, 0x44])];
  const [encoded, decoded] = await canister.snippets(rows, [...node, ...malformed]);
  expect(encoded.map((b) => Array.from(b))).toEqual(node.map((b) => Array.from(b)));
  expect(decoded.slice(0, node.length)).toEqual(node.map((b) => ({ ok: b })));
  expect(decoded.slice(node.length)).toEqual(malformed.map(() => ({ error: 'ValidationError' })));
});

// A tiny IngressBackend for testing the HTTP layer alone: "counter" canisters created through the
// management canister, with methods inc (update), get/whoami (query), boom (update that traps
// after changing state: the change must not survive), forbidden (refused by inspect_message) and
// slow (finishes only after release(), to exercise the 202 + polling path).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import type { CallOutcome, CanisterCertifiedInfo, IngressBackend, IngressMessage } from '../../lib/replica/ingress.js';

interface Counter {
  value: bigint;
  controllers: Principal[];
}

export const counterIdl: IDL.InterfaceFactory = ({ IDL }) =>
  IDL.Service({
    inc: IDL.Func([], [IDL.Nat], []),
    boom: IDL.Func([], [IDL.Nat], []),
    slow: IDL.Func([], [IDL.Nat], []),
    forbidden: IDL.Func([], [IDL.Nat], []),
    get: IDL.Func([], [IDL.Nat], ['query']),
    whoami: IDL.Func([], [IDL.Principal], ['query']),
    whoamiUpdate: IDL.Func([], [IDL.Principal], [])
  });

export const managementIdl: IDL.InterfaceFactory = ({ IDL }) =>
  IDL.Service({
    provisional_create_canister_with_cycles: IDL.Func(
      [IDL.Record({ amount: IDL.Opt(IDL.Nat), settings: IDL.Opt(IDL.Record({})) })],
      [IDL.Record({ canister_id: IDL.Principal })],
      []
    )
  });

const reply = (types: IDL.Type[], values: unknown[]): CallOutcome => ({ status: 'replied', reply: new Uint8Array(IDL.encode(types, values)) });
const reject = (rejectCode: number, errorCode: string, rejectMessage: string): CallOutcome => ({ status: 'rejected', rejectCode, errorCode, rejectMessage });

export class FakeBackend implements IngressBackend {
  readonly canisters = new Map<string, Counter>();
  time: bigint;
  submitted = 0;
  /** Size of each batch handed to executeIngress. */
  readonly rounds: number[] = [];
  /** `slow` calls finish only when this is called. */
  release: () => void = () => {};
  readonly #released = new Promise<void>(resolve => (this.release = resolve));
  #nextId = 1n;

  constructor(startMs = Date.now()) {
    this.time = BigInt(startMs) * 1_000_000n;
  }

  timeNs(): bigint {
    return this.time;
  }

  async advanceTime(ms: number): Promise<void> {
    this.time += BigInt(Math.round(ms)) * 1_000_000n;
  }

  async inspectIngress(message: IngressMessage): Promise<CallOutcome | undefined> {
    if (message.methodName === 'forbidden') return reject(4, 'IC0406', 'Canister rejected the message in canister_inspect_message');
    return undefined;
  }

  async submitIngress(message: IngressMessage): Promise<CallOutcome> {
    return (await this.inspectIngress(message)) ?? this.#execute(message);
  }

  /** Each message completes on its own, asynchronously (so never within the round that took it). */
  executeIngress(messages: readonly IngressMessage[], settle: (index: number, outcome: CallOutcome) => void): void {
    this.rounds.push(messages.length);
    messages.forEach((message, index) => void this.#execute(message).then(outcome => settle(index, outcome)));
  }

  async #execute(message: IngressMessage): Promise<CallOutcome> {
    this.submitted++;
    await new Promise(resolve => setImmediate(resolve)); // completes asynchronously, like an engine
    if (message.canisterId.isAnonymous() || message.canisterId.toText() === 'aaaaa-aa') return this.#management(message);
    const canister = this.canisters.get(message.canisterId.toText());
    if (canister === undefined) return reject(3, 'IC0301', `Canister ${message.canisterId.toText()} not found`);
    switch (message.methodName) {
      case 'inc':
        return reply([IDL.Nat], [++canister.value]);
      case 'boom': {
        const before = canister.value;
        canister.value += 100n;
        canister.value = before; // rollback, as the engine does on trap
        return reject(5, 'IC0503', `Error from Canister ${message.canisterId.toText()}: Canister called \`ic0.trap\` with message: 'boom'`);
      }
      case 'slow':
        await this.#released;
        return reply([IDL.Nat], [++canister.value]);
      case 'whoamiUpdate':
        return reply([IDL.Principal], [message.sender]);
      default:
        return reject(5, 'IC0536', `Canister has no update method '${message.methodName}'`);
    }
  }

  async query(message: IngressMessage): Promise<CallOutcome> {
    const canister = this.canisters.get(message.canisterId.toText());
    if (canister === undefined) return reject(3, 'IC0301', `Canister ${message.canisterId.toText()} not found`);
    if (message.methodName === 'get') return reply([IDL.Nat], [canister.value]);
    if (message.methodName === 'whoami') return reply([IDL.Principal], [message.sender]);
    return reject(5, 'IC0536', `Canister has no query method '${message.methodName}'`);
  }

  canisterInfo(canisterId: Principal): CanisterCertifiedInfo | undefined {
    const canister = this.canisters.get(canisterId.toText());
    if (canister === undefined) return undefined;
    return { certifiedData: new Uint8Array(), moduleHash: new Uint8Array(32).fill(7), controllers: canister.controllers };
  }

  canisterIds(): Principal[] {
    return [...this.canisters.keys()].map(id => Principal.fromText(id));
  }

  #management(message: IngressMessage): CallOutcome {
    if (message.methodName !== 'provisional_create_canister_with_cycles') return reject(5, 'IC0536', `Management method ${message.methodName} not faked`);
    const bytes = new Uint8Array(10);
    new DataView(bytes.buffer).setBigUint64(0, this.#nextId++);
    bytes.set([1, 1], 8);
    const id = Principal.fromUint8Array(bytes);
    this.canisters.set(id.toText(), { value: 0n, controllers: [message.sender] });
    return reply([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: id }]);
  }
}

// @RoutedBy(args => shardKey): runs a whole application update method on the shard that owns
// the shard key it names, so read-modify-write logic runs where the data is. On a shard that
// does not own the key, the method body never runs: the call is forwarded (one hop) to the owner
// as `__routed(record { method; arg; origin })` — the same raw Candid argument, plus the
// original caller — and the owner's reply is returned. The owner trusts the origin only from a
// cluster member and refuses to forward again. All shards run the same Wasm, so the owner has
// the same method. Put @RoutedBy *below* @update (it must wrap the method Azle registers).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { msgArgData, msgCaller } from 'azle';
import { DeclarationError, ForbiddenError, RoutingError, ValidationError } from '../model/errors.js';
import { shardKeyHash } from '../model/entity-keys.js';
import { encodeKeyComponent } from '../model/keys.js';
import { getEntityMetadata, type EntityClass } from '../model/metadata.js';
import { hashShardKey } from '../partition/index.js';
import { RoutedCallIdl } from '../protocol/candid.js';
import { runForwarded } from './caller.js';
import { callReply } from './peers.js';
import { shardNode } from './runtime.js';

/** Methods that may carry @RoutedBy in one canister. */
export const MAX_ROUTED_METHODS = 256;

const BlobIdl = IDL.Vec(IDL.Nat8);

export interface RoutedByOptions {
  /** The entity whose shard-key type encodes the key (needed for nat/int keys; text, principal and blob are inferred). */
  entity?: EntityClass;
}

interface AzleClassMeta {
  canisterMethodIdlParamTypes: Record<string, IDL.FuncClass>;
}

interface RoutedMethod {
  name: string;
  keyOf: (args: unknown[]) => unknown;
  original: (...args: unknown[]) => unknown;
  entity?: EntityClass;
  instance?: object;
  classMeta?: AzleClassMeta;
}

const routed = new Map<string, RoutedMethod>();

/** The 64-bit hash placing a routing key: as the entity's shard key when given, else by JS type. */
function routingHash(m: RoutedMethod, args: unknown[]): bigint {
  const key = m.keyOf(args);
  if (m.entity !== undefined) return shardKeyHash(getEntityMetadata(m.entity), key).hash;
  const where = `@RoutedBy of ${m.name}`;
  if (typeof key === 'string') return hashShardKey(encodeKeyComponent(IDL.Text, key, where));
  if (key instanceof Principal) return hashShardKey(encodeKeyComponent(IDL.Principal, key, where));
  if (key instanceof Uint8Array) return hashShardKey(encodeKeyComponent(IDL.Vec(IDL.Nat8), key, where));
  throw new ValidationError(`${where} returned ${typeof key}: return a text, principal or blob shard key, or pass { entity } so its shard-key type encodes it`);
}

function funcOf(m: RoutedMethod): IDL.FuncClass {
  const func = m.classMeta?.canisterMethodIdlParamTypes[m.name];
  if (func === undefined) throw new DeclarationError(`@RoutedBy method ${m.name} is not an Azle @update method: put @RoutedBy below @update`);
  return func;
}

export function RoutedBy<Args extends unknown[]>(keyOf: (args: Args) => unknown, options: RoutedByOptions = {}) {
  return function <This, Return>(original: (this: This, ...args: Args) => Promise<Return>, context: ClassMethodDecoratorContext<This>): (this: This, ...args: Args) => Promise<Return> {
    const name = String(context.name);
    if (routed.has(name)) throw new DeclarationError(`two @RoutedBy methods are named ${name}: method names are unique across the canister's classes`);
    if (routed.size >= MAX_ROUTED_METHODS) throw new DeclarationError(`more than ${MAX_ROUTED_METHODS} @RoutedBy methods`);
    const m: RoutedMethod = { name, keyOf: keyOf as RoutedMethod['keyOf'], original: original as RoutedMethod['original'], entity: options.entity };
    routed.set(name, m);
    context.addInitializer(function (this: This) {
      m.instance = this as object;
      m.classMeta = (this as { constructor: { _azleCanisterClassMeta?: AzleClassMeta } }).constructor._azleCanisterClassMeta;
    });
    return async function (this: This, ...args: Args): Promise<Return> {
      const node = shardNode();
      const owner = node.partitioner.shardFor(routingHash(m, args));
      if (owner === node.id) return original.apply(this, args);
      const arg = msgArgData(); // read before any await: after one it would be a reply's data
      const reply = (await callReply({ target: owner, method: '__routed', argType: RoutedCallIdl, arg: { method: name, arg, origin: msgCaller() }, okType: BlobIdl, write: true })) as Uint8Array;
      const decoded = IDL.decode(funcOf(m).retTypes, reply);
      return decoded[0] as Return;
    };
  };
}

/** The owner's side of a forward: `__routed`, accepted only from members, never forwarded again. */
export async function serveRouted(request: { method: string; arg: Uint8Array; origin: Principal }): Promise<Uint8Array> {
  const node = shardNode();
  const from = msgCaller().toText();
  if (!node.isMember(from)) throw new ForbiddenError(`${from} is not a member of this cluster: only shards may forward method calls`);
  const m = routed.get(request.method);
  if (m === undefined) throw new ValidationError(`no @RoutedBy method ${request.method} on this shard: all shards must run the same Wasm`);
  const func = funcOf(m);
  const args = IDL.decode(func.argTypes, request.arg);
  if (node.partitioner.shardFor(routingHash(m, args)) !== node.id) {
    throw new RoutingError(`${request.method}: this shard does not own the key either (the partition map moved): call again`);
  }
  const result = await runForwarded(from, request.origin.toText(), () => m.original.apply(m.instance, args));
  return new Uint8Array(IDL.encode(func.retTypes, func.retTypes.length === 0 ? [] : [result]));
}

// repository(Entity) inside an application's canister methods: the same Repository API as in the
// client and MemoryCluster, over this canister's shard. Keys this shard owns run on its own
// ShardNode; other keys (and fan-out scans and counts of other shards) go to their owner as a
// forwarded request (one hop) carrying the original caller.
//
// Access rules see the ORIGINAL caller (caller(): the method's caller, or the forwarded origin
// under @RoutedBy), never the canister itself: an application method cannot do more to a
// collection than its caller could through the generic `execute` method, so a method that forgets
// a check does not open the data. Methods that must write on the canister's own authority should
// use a collection whose access rule allows it. The caller is read when repository() is called:
// call it at the start of a method.
import { DeclarationError } from '../model/errors.js';
import { getEntityMetadata, type EntityClass } from '../model/metadata.js';
import type { ShardTransport } from '../protocol/ops.js';
import { Dispatcher } from '../repository/dispatch.js';
import { Repository } from '../repository/repository.js';
import { caller } from './caller.js';
import { canisterPeers } from './peers.js';
import { maxEntityBytes, shardNode, shardRegistry } from './runtime.js';

// Forwards need no manager: peers here only send requests.
const peers = canisterPeers(() => undefined);

export function repository<T extends object>(ctor: EntityClass<T>): Repository<T> {
  const meta = getEntityMetadata(ctor);
  if (shardRegistry().find(meta.name) === undefined) {
    throw new DeclarationError(`${meta.className} (collection ${meta.name}) is not stored by this shard: add it to shardCanister({ entities })`);
  }
  const node = shardNode();
  const who = caller().toText();
  const transport: ShardTransport = {
    send: (shard, request) => (shard === node.id ? node.handle(request, who) : peers.send(shard, { ops: request.ops, hops: 1, origin: who })),
  };
  // No waiting between retries: a canister method cannot sleep (a timer has no call context to
  // reply to), and each retry is an inter-canister round trip anyway.
  const dispatcher = new Dispatcher({ transport, map: node.partitioner, sleep: async () => undefined });
  return new Repository(ctor, dispatcher, { maxEntityBytes: maxEntityBytes() });
}

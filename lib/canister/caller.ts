// `caller()`: the original caller of the application method being run — the ingress sender or
// calling canister for a direct call, the forwarded origin when @RoutedBy sent the call here
// from another shard. Azle's msgCaller() stays right across awaits for direct calls (the IC
// keeps the call context's caller), but a forwarded call's immediate caller is the forwarding
// shard, so the origin is tracked here:
//  - exactly, during the synchronous part of the forwarded method (before its first await);
//  - after an await, from the forwarded calls in flight: when every forwarded call in flight
//    from that shard has the same origin, that origin; otherwise a typed error (fail closed:
//    never a wrong principal). Read caller() — or call repository(), which reads it — at the
//    start of a routed method to be exact under concurrency.
import { Principal } from '@dfinity/principal';
import { msgCaller } from 'azle';
import { RoutingError, UnavailableError } from '../model/errors.js';
import { shardNode } from './runtime.js';

/** Forwarded (@RoutedBy) calls this shard runs at once; more are refused with UnavailableError. */
export const MAX_ROUTED_IN_FLIGHT = 64;

interface Forwarded {
  forwarder: string;
  origin: string;
}

let syncOrigin: string | undefined;
const inFlight = new Map<number, Forwarded>();
let nextCall = 0;

/** The original caller of the method being run (see the file comment for the exact rule). */
export function caller(): Principal {
  if (syncOrigin !== undefined) return Principal.fromText(syncOrigin);
  const immediate = msgCaller();
  const text = immediate.toText();
  if (!shardNode().isMember(text)) return immediate;
  const origins = new Set([...inFlight.values()].filter((f) => f.forwarder === text).map((f) => f.origin));
  if (origins.size === 0) return immediate; // a member calling this method directly
  if (origins.size === 1) return Principal.fromText([...origins][0]);
  throw new RoutingError('caller() after an await in a forwarded call is ambiguous (several forwarded calls are in flight): read caller() before the first await');
}

/** Runs a forwarded method for `origin`, arriving from member `forwarder`. */
export async function runForwarded<T>(forwarder: string, origin: string, run: () => T | Promise<T>): Promise<T> {
  if (inFlight.size >= MAX_ROUTED_IN_FLIGHT) throw new UnavailableError(`more than ${MAX_ROUTED_IN_FLIGHT} forwarded calls in flight on this shard: retry in a moment`);
  const id = nextCall++;
  inFlight.set(id, { forwarder, origin });
  let pending: T | Promise<T>;
  syncOrigin = origin;
  try {
    pending = run();
  } catch (e) {
    inFlight.delete(id);
    throw e;
  } finally {
    syncOrigin = undefined;
  }
  try {
    return await pending;
  } finally {
    inFlight.delete(id);
  }
}

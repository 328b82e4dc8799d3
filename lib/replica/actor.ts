// Actors over the replica, shaped like PocketIC's (@dfinity/pic): a method per Candid function
// that encodes its arguments, calls through the replica (query or update by annotation) and
// decodes the reply; `setPrincipal` / `setIdentity` change the sender of later calls.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';

/** What an actor needs of the replica. */
export interface ActorTransport {
  updateCall(options: { canisterId: Principal; method: string; arg: Uint8Array; sender: Principal }): Promise<Uint8Array>;
  queryCall(options: { canisterId: Principal; method: string; arg: Uint8Array; sender: Principal }): Promise<Uint8Array>;
}

export type ActorMethod = (...args: any[]) => Promise<any>;

export type Actor<T = Record<string, ActorMethod>> = T & {
  /** Later calls are made as `principal`. */
  setPrincipal(principal: Principal): void;
  /** Later calls are made as the identity's principal (nothing is signed in-process). */
  setIdentity(identity: { getPrincipal(): Principal }): void;
};

export function createReplicaActor<T>(transport: ActorTransport, idlFactory: IDL.InterfaceFactory, canisterId: Principal, sender: Principal = Principal.anonymous()): Actor<T> {
  let caller = sender;
  const actor: Record<string, unknown> = {
    setPrincipal: (principal: Principal) => (caller = principal),
    setIdentity: (identity: { getPrincipal(): Principal }) => (caller = identity.getPrincipal())
  };
  for (const [name, func] of idlFactory({ IDL })._fields) {
    const isQuery = func.annotations.includes('query') || func.annotations.includes('composite_query');
    actor[name] = async (...args: unknown[]) => {
      const call = { canisterId, method: name, arg: new Uint8Array(IDL.encode(func.argTypes, args)), sender: caller };
      const results = IDL.decode(func.retTypes, isQuery ? await transport.queryCall(call) : await transport.updateCall(call));
      return results.length === 0 ? undefined : results.length === 1 ? results[0] : results;
    };
  }
  return actor as Actor<T>;
}

// The .did text of the generic shard interface, generated from the one IDL in
// lib/protocol/candid.ts (plus the init argument), so docs/shard-interface.md can show it and a
// test can hold the document to it. @dfinity/candid prints types (`display()`) but not whole
// .did files; this adds the service frame in Candid's concrete syntax.
import { IDL } from '@dfinity/candid';
import { managerNotificationIdlFactory, RoutedCallIdl, shardIdlFactory } from '../protocol/candid.js';
import { InitArgIdl } from './init-arg.js';

/** One method as `.did` writes it: `(args) -> (results) annotations`. */
export function funcToDid(func: IDL.FuncClass): string {
  const list = (types: IDL.Type[]) => `(${types.map((t) => t.display()).join(', ')})`;
  return [list(func.argTypes), '->', list(func.retTypes), ...func.annotations].join(' ');
}

export function serviceToDid(service: IDL.ServiceClass, init: IDL.Type[] = []): string {
  const methods = service._fields.map(([name, func]) => `  ${name} : ${funcToDid(func)};`);
  const head = init.length === 0 ? 'service : {' : `service : (${init.map((t) => t.display()).join(', ')}) -> {`;
  return [head, ...methods, '}'].join('\n');
}

/** The shard interface every ShardORM canister serves (hidden `__routed` excluded). */
export function shardInterfaceDid(): string {
  return serviceToDid(shardIdlFactory({ IDL }) as IDL.ServiceClass, [InitArgIdl]);
}

/** The hidden method members use to forward a @RoutedBy call, as a .did line. */
export function routedMethodDid(): string {
  return `__routed : ${funcToDid(IDL.Func([RoutedCallIdl], [IDL.Variant({ ok: IDL.Vec(IDL.Nat8), err: IDL.Record({ code: IDL.Text, message: IDL.Text }) })], []))};`;
}

/** The manager methods shards call (lib/protocol/candid.ts managerNotificationIdlFactory). */
export function managerNotificationDid(): string {
  return serviceToDid(managerNotificationIdlFactory({ IDL }) as IDL.ServiceClass);
}

// Every ShardORM canister method answers `variant { ok: T; err: record { code; message } }`: a
// ShardOrmError (bad input, a refused caller) becomes `err`; anything else is our own bug and traps,
// so the IC rolls the message back.
import { ShardOrmError, toWireError } from '../model/errors.js';

export type Answer<T> = { ok: T } | { err: { code: string; message: string } };

export async function answer<T>(run: () => T | Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: await run() };
  } catch (e) {
    if (e instanceof ShardOrmError) return { err: toWireError(e) };
    throw e;
  }
}

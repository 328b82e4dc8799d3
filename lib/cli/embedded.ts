// The embedded local replica: the execution engine (LocalReplica, lib/replica) served over the IC
// HTTP interface. Used by `shardorm replica start`, `shardorm demo` and the tests.
import type { HttpServerHandle } from '../replica/http/index.js';
import { LocalReplica } from '../replica/http/listen.js';

/** Checkpoint interval of the embedded (live, wall-clock) replica. */
export const EMBEDDED_CHECKPOINT_INTERVAL_MS = 1_000;

export interface EmbeddedReplica extends HttpServerHandle {
  replica: LocalReplica;
}

export interface EmbeddedOptions {
  port?: number;
  host?: string;
  /** Seeds the root key and, when numeric, the engine's scheduling PRNG. */
  seed?: string | number;
  clock?: () => number;
}

export async function startEmbeddedReplica(options: EmbeddedOptions = {}): Promise<EmbeddedReplica> {
  const clock = options.clock ?? Date.now;
  const numericSeed = options.seed === undefined || !/^\d+$/.test(String(options.seed)) ? undefined : Number(options.seed);
  // Live: replica time starts at the wall clock and the server keeps it there (agents check it).
  // A dev replica checkpoints every second (the IC: ~10 minutes), so a snapshot of a canister that
  // just ran loads onto another canister after one retry rather than ten minutes.
  const replica = await LocalReplica.create({ seed: numericSeed, startTime: clock(), checkpointIntervalMs: EMBEDDED_CHECKPOINT_INTERVAL_MS });
  try {
    const server = await replica.listen({ port: options.port, host: options.host, seed: options.seed, clock });
    return {
      ...server,
      replica,
      async close() {
        await server.close();
        await replica.tearDown();
      }
    };
  } catch (error) {
    await replica.tearDown();
    throw error;
  }
}

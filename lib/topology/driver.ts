// Drives a migration (lib/topology/migration.ts) one effect at a time: the same loop runs in the
// manager canister (effects are management and shard calls; the journal is stable memory) and in
// MemoryCluster (effects are direct calls). The record is saved after every transition, so
// whatever interrupts a step, the next drive performs the same effect again (each is idempotent).
import { applyResult, isTerminal, nextEffect, type Effect, type EffectResult, type Migration } from './migration.js';

export interface EffectRunner {
  perform(effect: Effect, migration: Migration): Promise<EffectResult>;
}

export interface MigrationJournal {
  save(migration: Migration): void;
}

/** Effects one drive may perform before yielding (a canister timer or a test loop calls again). */
export const MAX_EFFECTS_PER_DRIVE = 64;

export type ProgressListener = (migration: Migration, effect: Effect, result: EffectResult) => void;

/**
 * Performs due effects of `m` until it is terminal, must wait (retryAt in the future), or
 * MAX_EFFECTS_PER_DRIVE effects ran. Returns the number of effects performed.
 */
export async function drive(m: Migration, runner: EffectRunner, journal: MigrationJournal, now: () => bigint, onProgress?: ProgressListener): Promise<number> {
  let performed = 0;
  while (!isTerminal(m) && performed < MAX_EFFECTS_PER_DRIVE && now() >= m.retryAt) {
    const effect = nextEffect(m);
    if (effect === undefined) throw new Error(`migration ${m.id}: phase ${m.phase} has no effect but is not terminal`);
    let result: EffectResult;
    try {
      result = await runner.perform(effect, m);
    } catch (e) {
      result = { ok: false, kind: 'failed', error: e instanceof Error ? e.message : String(e) };
    }
    applyResult(m, effect, result, now());
    journal.save(m);
    performed++;
    onProgress?.(m, effect, result);
  }
  return performed;
}

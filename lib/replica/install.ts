// install_code as one atomic step: install/reinstall (fresh heap and stable memory, canister_init)
// or upgrade (canister_pre_upgrade on the old module, stable memory kept, heap replaced unless
// `wasm_memory_persistence = keep`, canister_post_upgrade). Any trap restores the previous state.
import { Canister } from './canister.js';
import { executionFee } from './fees.js';
import { CanisterTrap, ErrorCode, InvalidWasmError, RejectCode } from './errors.js';
import type { ExecutionKind } from './execution.js';
import { refuse, refuseWith, type EngineView, type ManagementCall } from './management-call.js';
import { trapRejection } from './rejections.js';
import type { InstallMode, UpgradeOptions } from './install-mode.js';
import type { LoadedModule } from './module-cache.js';


/** How to install: the mode and, for an upgrade, its options (fromCandidInstallMode's result). */
export interface InstallHow {
  mode: InstallMode;
  upgrade: Required<UpgradeOptions>;
}

export function installCode(engine: EngineView, c: Canister, call: ManagementCall, how: InstallHow, module: LoadedModule, arg: Uint8Array): void {
  const { mode, upgrade } = how;
  const caller = call.caller;
  if (mode === 'install' && c.module) {
    refuse(RejectCode.CanisterError, ErrorCode.CanisterNonEmpty, `Canister ${c.idText} cannot be installed because the canister is not empty. Try installing with mode='reinstall' or mode='upgrade' instead.`);
  }
  if (mode === 'upgrade' && !c.module) {
    refuse(RejectCode.CanisterError, ErrorCode.CanisterWasmModuleNotFound, `Canister ${c.idText} is empty and cannot be upgraded; install it with mode='install' first.`);
  }
  if (mode === 'upgrade' && upgrade.keepHeap && !module.enhancedOrthogonalPersistence) {
    refuse(RejectCode.CanisterError, ErrorCode.CanisterInvalidWasm, `wasm_memory_persistence = keep is only allowed for modules declaring enhanced orthogonal persistence (custom section "icp:private enhanced-orthogonal-persistence"); upgrade without it to replace the heap`);
  }
  const saved = c.cloneState();
  const savedCycles = c.cycles;
  // Instructions of the install hooks are paid for, even when a hook traps and the install is undone.
  let fees = 0n;
  const run = (kind: ExecutionKind, entry: string, input: Uint8Array): void => {
    if (!c.hasExport(entry)) return;
    const exec = engine.execution(kind, { arg: input, caller: caller.toUint8Array(), methodName: entry });
    const { trap, instructions } = c.execute(exec, entry);
    fees += executionFee(instructions, 0n);
    engine.record(`${c.idText} ${kind} ${trap ? trap.errorCode : 'ok'} ${instructions}`);
    if (trap) fail(trap);
  };
  const charge = (): void => {
    c.cycles = c.cycles > fees ? c.cycles - fees : 0n;
  };
  const fail = (trap: CanisterTrap): never => {
    c.setState(saved);
    c.cycles = savedCycles;
    charge();
    return refuseWith(trapRejection(c.idText, trap));
  };
  const instantiate = (keepHeap: boolean): void => {
    try {
      c.installModule(module, keepHeap);
    } catch (error) {
      c.setState(saved);
      if (error instanceof CanisterTrap) fail(error);
      charge(); // pre_upgrade ran and is paid for, as on the trap path
      throw new InvalidWasmError(`module could not be instantiated: ${(error as Error).message}`);
    }
  };
  if (mode === 'upgrade') {
    if (!upgrade.skipPreUpgrade) run('pre_upgrade', 'canister_pre_upgrade', new Uint8Array(0));
    instantiate(upgrade.keepHeap);
    run('post_upgrade', 'canister_post_upgrade', arg);
  } else {
    if (mode === 'reinstall') engine.rejectOpenContexts(c, `Canister ${c.idText} has been reinstalled.`);
    c.setState(Canister.emptyState());
    instantiate(false);
    run('init', 'canister_init', arg);
  }
  charge();
  c.bumpVersion();
  // Callbacks survive an upgrade (the IC then runs them in the new module, hence "stop first");
  // install and reinstall start from scratch.
  if (mode !== 'upgrade') c.generation++;
  c.history.add({ timestampNanos: engine.time, canisterVersion: c.version, origin: call.origin, details: { kind: 'code_deployment', mode, moduleHash: module.hash } });
}

// What executions and calls cost in cycles, at a 13-node application subnet's prices (the IC's
// `CyclesAccountManager` defaults): the replica charges them, tests compute expected balances.

/** Cycles: base fee of a call and per payload byte. */
export const CALL_BASE_FEE = 260_000n;
export const CALL_BYTE_FEE = 1_000n;
/** Base fee per update execution, and cycles per 10 instructions. */
export const UPDATE_BASE_FEE = 5_000_000n;
export const FEE_PER_10_INSTRUCTIONS = 4n;

/** Cycles a replicated execution costs: its base fee plus its metered instructions. */
export function executionFee(instructions: bigint, baseFee = UPDATE_BASE_FEE): bigint {
  return baseFee + (instructions * FEE_PER_10_INSTRUCTIONS) / 10n;
}

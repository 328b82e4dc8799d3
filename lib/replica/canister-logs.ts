// A canister's log (fetch_canister_logs): what its executions printed and why they trapped,
// kept across traps as on the IC (it is how a developer learns why), bounded to the newest
// MAX_LOG_RECORDS records.

/** Canister log records kept per canister (oldest dropped first), served by fetch_canister_logs. */
export const MAX_LOG_RECORDS = 1000;

export interface LogRecord {
  idx: bigint;
  timestamp_nanos: bigint;
  content: Uint8Array;
}

export class CanisterLog {
  readonly records: LogRecord[] = [];
  private nextIndex = 0n;

  /** Appends one record per line, all stamped `time`. */
  append(lines: readonly string[], time: bigint): void {
    for (const line of lines) this.records.push({ idx: this.nextIndex++, timestamp_nanos: time, content: new TextEncoder().encode(line) });
    if (this.records.length > MAX_LOG_RECORDS) this.records.splice(0, this.records.length - MAX_LOG_RECORDS);
  }
}

// Fault injection for tests: rules matched against inter-canister requests as they are sent, and
// against messages as they are about to execute. Each rule fires `times` times (default once).
import { CanisterTrap, ErrorCode, RejectCode, type Rejection } from './errors.js';
import type { Request } from './messages.js';

export interface CallMatch {
  /** Caller canister id (text); any when absent. */
  from?: string;
  /** Callee canister id (text, `aaaaa-aa` for the management canister); any when absent. */
  to?: string;
  method?: string;
}

export type FaultRule =
  | ({ kind: 'reject'; rejectCode?: number; rejectMessage?: string; times?: number } & CallMatch)
  | ({ kind: 'delay'; rounds?: number; ms?: number; times?: number } & CallMatch)
  | { kind: 'trap'; canister: string; method: string; message?: string; times?: number };

interface Armed {
  rule: FaultRule;
  left: number;
}

export class Faults {
  private rules: Armed[] = [];
  /** How many times each rule kind fired (tests assert the fault really happened). */
  readonly fired = { reject: 0, delay: 0, trap: 0 };

  add(rule: FaultRule): void {
    this.rules.push({ rule, left: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** Applies reject/delay rules to a canister-to-canister request; returns a rejection to deliver instead. */
  onSend(request: Request, now: bigint): Rejection | undefined {
    for (const armed of this.rules) {
      const r = armed.rule;
      if (armed.left <= 0 || r.kind === 'trap' || !matches(r, request)) continue;
      armed.left--;
      this.fired[r.kind]++;
      if (r.kind === 'reject') {
        return {
          rejectCode: r.rejectCode ?? RejectCode.SysTransient,
          rejectMessage: r.rejectMessage ?? `injected fault: call to ${request.receiver.toText()}.${request.method} rejected`,
          errorCode: r.rejectCode === RejectCode.CanisterReject ? ErrorCode.CanisterRejectedMessage : ErrorCode.CanisterQueueFull,
          verbatim: true
        };
      }
      request.delayRounds = r.rounds ?? (r.ms === undefined ? 1 : 0);
      if (r.ms !== undefined) request.delayUntil = now + BigInt(r.ms) * 1_000_000n;
      return undefined;
    }
    return undefined;
  }

  /** A trap to raise instead of executing this method, if a rule says so. */
  onExecute(canister: string, method: string): CanisterTrap | undefined {
    for (const armed of this.rules) {
      const r = armed.rule;
      if (armed.left <= 0 || r.kind !== 'trap' || r.canister !== canister || r.method !== method) continue;
      armed.left--;
      this.fired.trap++;
      return new CanisterTrap(`Canister called \`ic0.trap\` with message: '${r.message ?? 'injected fault'}'`, ErrorCode.CanisterCalledTrap);
    }
    return undefined;
  }
}

function matches(m: CallMatch, request: Request): boolean {
  return (m.from === undefined || m.from === request.sender.toText()) && (m.to === undefined || m.to === request.receiver.toText()) && (m.method === undefined || m.method === request.method);
}

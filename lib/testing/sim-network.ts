// The simulated network between simulate()'s clients and the target: every repository call is a
// message that waits in a queue until the seeded scheduler delivers it (the call starts against
// the target), and whose answer waits again until the scheduler hands it back to the client. So
// an op's effect lands anywhere inside its recorded interval, ops of different clients overlap,
// and requests and replies can be lost (the client then sees a SimulatedFault: outcome unknown).
import { RECORDED_METHODS } from './recorder.js';

/** A lost request or reply. Not a ShardORM error, so the recorder classifies it as 'unknown'. */
export class SimulatedFault extends Error {
  override readonly name = 'SimulatedFault';
}

export interface Message {
  readonly id: number;
  readonly client: number;
  phase: 'queued' | 'running' | 'done';
  readonly run: () => Promise<unknown>;
  answer?: { ok: true; value: unknown } | { ok: false; error: unknown };
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

export class SimulatedNetwork {
  private nextId = 0;
  /** Messages not yet answered, in the order they were sent. */
  private readonly open: Message[] = [];

  /** `repository` behind this network: its recorded methods become messages from `client`. */
  gate<R extends object>(repository: R, client: number): R {
    const wrappers = new Map<PropertyKey, unknown>();
    for (const name of RECORDED_METHODS) {
      const method = (repository as Record<string, unknown>)[name];
      if (typeof method !== 'function') continue;
      wrappers.set(name, (...args: unknown[]) =>
        new Promise((resolve, reject) => {
          const run = () => method.apply(repository, args) as Promise<unknown>;
          this.open.push({ id: this.nextId++, client, phase: 'queued', run, resolve, reject });
        }),
      );
    }
    return new Proxy(repository, { get: (target, prop) => (wrappers.has(prop) ? wrappers.get(prop) : Reflect.get(target, prop, target)) });
  }

  inPhase(phase: Message['phase']): Message[] {
    return this.open.filter((m) => m.phase === phase);
  }

  get size(): number {
    return this.open.length;
  }

  /** The request reaches the target: the call starts now. */
  deliver(m: Message): void {
    m.phase = 'running';
    let p: Promise<unknown>;
    try {
      p = m.run();
    } catch (error) {
      p = Promise.reject(error);
    }
    p.then(
      (value) => ((m.phase = 'done'), (m.answer = { ok: true, value })),
      (error) => ((m.phase = 'done'), (m.answer = { ok: false, error })),
    );
  }

  /** The request is lost on the way: it never reaches the target. */
  drop(m: Message): void {
    this.close(m);
    m.reject(new SimulatedFault(`request ${m.id} lost before it reached the cluster`));
  }

  /** The answer reaches the client, or (lose) is lost after the target acted on the request. */
  reply(m: Message, lose: boolean): void {
    this.close(m);
    const a = m.answer;
    if (a === undefined) throw new Error(`reply to message ${m.id} before it completed`);
    if (lose) m.reject(new SimulatedFault(`reply to request ${m.id} lost after the cluster handled it`));
    else if (a.ok) m.resolve(a.value);
    else m.reject(a.error);
  }

  private close(m: Message): void {
    const i = this.open.indexOf(m);
    if (i < 0) throw new Error(`message ${m.id} is not open`);
    this.open.splice(i, 1);
  }
}

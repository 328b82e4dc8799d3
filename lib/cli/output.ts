// How commands speak: human lines or one JSON document on stdout (`--json`, shapes in docs/cli.md),
// progress bars with an ETA on stderr (never mixed into stdout, so `--json | jq` works), errors as
// one line on stderr. Tests pass their own sinks.
import cliProgress from 'cli-progress';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stderr is a terminal (progress bars redraw only there). */
  interactive: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    interactive: process.stderr.isTTY === true,
  };
}

export interface Progress {
  /** Sets the bar to `done` of `total` units with a label for the current step. */
  update(done: number, total: number, step?: string): void;
  stop(): void;
}

/** A bar with ETA on stderr when it is a terminal; nothing otherwise. */
export function progressBar(io: CliIo, title: string, unit: string): Progress {
  // Not a terminal (a pipe, CI, tests): stay silent, so stderr holds only the error line if any.
  if (!io.interactive) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted} | {step}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, step = '') {
      if (!started) bar.start(total, done, { step });
      started = true;
      bar.setTotal(total);
      bar.update(done, { step });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Prints `value` as JSON (bigints as decimal strings) or the human lines. */
export function emit(io: CliIo, json: boolean, value: unknown, human: () => string[]): void {
  if (json) io.stdout(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  else for (const line of human()) io.stdout(line + '\n');
}

/** One bar per named item (a shard of a roll-out) on stderr when it is a terminal; nothing otherwise. */
export function progressBars(io: CliIo, unit: string): { bar(name: string): Progress; stop(): void } {
  if (!io.interactive) return { bar: () => ({ update() {}, stop() {} }), stop() {} };
  const multi = new cliProgress.MultiBar(
    { format: `{name} [{bar}] {value}/{total} ${unit} | ETA {eta_formatted} | {step}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    bar(name) {
      return {
        update(done, total, step = '') {
          let b = bars.get(name);
          if (b === undefined) bars.set(name, (b = multi.create(total, done, { name, step })));
          b.setTotal(total);
          b.update(done, { name, step });
        },
        stop() {},
      };
    },
    stop: () => multi.stop(),
  };
}

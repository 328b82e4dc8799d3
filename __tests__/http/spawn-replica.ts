// Starts `shardorm replica start --port 0` as a child process, exactly as a user would, and waits
// for its single `ready: <url>` line.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const READY_TIMEOUT_MS = 60_000;

export interface SpawnedReplica {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnReplica(args: string[] = []): Promise<SpawnedReplica> {
  const root = process.cwd();
  const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
  const child = spawn(process.execPath, [tsx, join(root, 'lib/cli/main.ts'), 'replica', 'start', '--port', '0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let [out, err] = ['', ''];
  child.stderr!.on('data', chunk => (err += chunk));
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not print "ready:" within ${READY_TIMEOUT_MS} ms; stderr:\n${err}`)), READY_TIMEOUT_MS);
    child.stdout!.on('data', chunk => {
      out += chunk;
      const match = out.match(/^ready: (http:\/\/\S+)\n/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(code => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code} before it was ready; stderr:\n${err}`));
    });
  });
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    }
  };
}

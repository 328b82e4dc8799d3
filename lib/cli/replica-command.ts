// `shardorm replica start`: serves the embedded replica until SIGINT/SIGTERM. stdout carries exactly
// one line, `ready: <url>`, once requests are accepted (scripts and tests wait for it); everything
// else goes to stderr. While it serves, .shardorm/replica.json names its URL (`--network local`).
import { DEFAULT_HOST, DEFAULT_PORT } from '../replica/http/index.js';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startEmbeddedReplica } from './embedded.js';
import { CliError } from './errors.js';
import { type CliIo, processIo } from './output.js';
import { replicaRecordPath } from './session.js';

export interface ReplicaStartOptions {
  port: string;
  host: string;
  seed?: string;
}

export async function replicaStart(options: ReplicaStartOptions, io: CliIo = processIo()): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be an integer in 0..65535 (0 picks a free port), got "${options.port}".`);
  const replica = await startEmbeddedReplica({ port, host: options.host, seed: options.seed });
  const record = replicaRecordPath(io.cwd);
  mkdirSync(dirname(record), { recursive: true });
  writeFileSync(record, JSON.stringify({ url: replica.url, pid: process.pid, started: new Date().toISOString() }) + '\n');
  io.stdout(`ready: ${replica.url}\n`);
  await new Promise<void>(resolve => {
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`replica: ${signal} received, stopping\n`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  rmSync(record, { force: true });
  await replica.close();
}

export const REPLICA_DEFAULTS = { port: String(DEFAULT_PORT), host: DEFAULT_HOST };

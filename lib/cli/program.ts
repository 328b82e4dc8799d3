// The `shardorm` command tree: one file per command, wired here. Every command takes --network,
// --identity and --json (common options, session.ts); failures end as one line on stderr and a
// non-zero exit (runCli). Tests call runCli with their own sinks.
import { Command, Option } from 'commander';
import { backupCommand } from './backup.js';
import { cloneCommand } from './clone.js';
import { demo } from './demo.js';
import { deployCommand } from './deploy-command.js';
import { explainFailure } from './errors.js';
import { NETWORK_HELP } from './network.js';
import { type CliIo, processIo } from './output.js';
import { REPLICA_DEFAULTS, replicaStart } from './replica-command.js';
import { restoreCommand } from './restore.js';
import { statusCommand } from './status.js';
import { topologyCommand } from './topology.js';
import { upgradeCommand } from './upgrade.js';
import { webCommand } from './web.js';

function common(command: Command): Command {
  return command
    .addOption(new Option('--network <network>', NETWORK_HELP))
    .option('--identity <pem>', 'PEM key to sign with (default: $SHARDORM_IDENTITY, dfx\'s default identity, or a key created once under $XDG_CONFIG_HOME/shardorm)')
    .option('--json', 'print one JSON document (shapes in docs/cli.md)');
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function buildProgram(io: CliIo): Command {
  const program = new Command('shardorm').description('ShardORM tools: a local IC replica, cluster deployment, status, backups and the sample dapp.');
  program.configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).exitOverride().showHelpAfterError();
  const replica = program.command('replica').description('The embedded local replica.');
  replica
    .command('start')
    .description('Serve the IC HTTP interface; prints "ready: <url>" and runs until SIGINT/SIGTERM.')
    .option('--port <port>', 'TCP port (0 picks a free one)', REPLICA_DEFAULTS.port)
    .option('--host <host>', 'interface to bind', REPLICA_DEFAULTS.host)
    .option('--seed <seed>', 'seed of the root key (same seed, same root key)')
    .action((options) => replicaStart(options, io));
  program
    .command('demo')
    .description('Start the embedded replica, deploy the snippets board as a cluster, write until it splits into 4 shards, verify, print the shard map and serve the page.')
    .addOption(new Option('--network <network>', NETWORK_HELP))
    .option('--ci', 'exit after the verification instead of serving until Ctrl-C')
    .action((options) => demo(options));
  common(program.command('deploy [canister]').description('Build the shard canister (a dfx.json Azle canister, default shardorm_example) and deploy it as a cluster.'))
    .option('--max-shard-bytes <n>', 'split a shard above this many logical bytes')
    .option('--min-shard-bytes <n>', 'merge neighbours together below this many bytes')
    .option('--manager-canister <id>', 'install the manager into this canister (mainnet: one you created and funded)')
    .option('--as <name>', 'cluster name to record (default: the canister name)')
    .action(async (canister, options) => void (await deployCommand(canister, options, io)));
  common(program.command('status').description('One line per shard: id, hash range, entities, memory, cycles; the epoch and migrations.'))
    .option('--cluster <name>', 'recorded cluster (default: the only or last one)')
    .option('--watch', `redraw until Ctrl-C`)
    .action((options) => statusCommand(options, io));
  for (const kind of ['split', 'merge'] as const) {
    common(program.command(`${kind} <shard>`).description(`Ask the manager to ${kind} a shard now (controllers only).`))
      .option('--cluster <name>', 'recorded cluster')
      .option(kind === 'split' ? '--method <method>' : '--into <shard>', kind === 'split' ? 'copy method: snapshot or rows' : 'neighbour to merge into')
      .action((shard, options) => topologyCommand(kind, shard, options, io));
  }
  common(program.command('upgrade [canister]').description('Rolling upgrade of every shard through the manager, one shard at a time (controllers only), then of the manager.'))
    .option('--cluster <name>', 'recorded cluster (default: the only or last one)')
    .option('--skip-manager', 'leave the manager on its module')
    .action(async (canister, options) => void (await upgradeCommand(canister, options, io)));
  common(program.command('backup').description('Snapshot every shard (or --canister ids) and download the snapshots with a SHA-256 manifest.'))
    .requiredOption('--out <dir>', 'new directory for the backup')
    .option('--cluster <name>', 'recorded cluster (default: the only or last one)')
    .option('--canister <id>', 'back up this canister instead of a cluster (repeatable)', collect)
    .option('--keep-snapshots', 'leave the snapshots on the canisters too')
    .action((options) => backupCommand(options, io));
  common(program.command('restore <dir>').description('Verify a backup\'s hashes, then upload and load every snapshot.'))
    .option('--fresh', 'onto new canisters instead of the original ones')
    .option('--as <name>', 'record the restored cluster under this name')
    .action(async (dir, options) => void (await restoreCommand(dir, options, io)));
  common(program.command('clone <source>').description('Restore a backup directory or a recorded cluster under new canister ids.'))
    .requiredOption('--as <name>', 'name of the clone')
    .action(async (source, options) => void (await cloneCommand(source, options, io)));
  common(program.command('web').description('Serve the sample dapp page on localhost (shard map, snippets, load generator).'))
    .option('--port <port>', 'TCP port (0 picks a free one)', '8090')
    .option('--cluster <name>', 'recorded cluster')
    .option('--memory', 'serve an in-process stand-in cluster instead (no replica)')
    .action((options) => webCommand(options, io));
  return program;
}

/** Runs one command line; returns the exit code (errors are one line on stderr). */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const code = (error as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) return (error as { exitCode: number }).exitCode;
    io.stderr(`shardorm: ${explainFailure(error)}\n`);
    return 1;
  }
}

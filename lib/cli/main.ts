// The `shardorm` command line (run with `npm run shardorm -- <command>` or `npx shardorm`).
import { Command, Option } from 'commander';
import { demo } from './demo.js';
import { NETWORK_HELP } from './network.js';
import { REPLICA_DEFAULTS, replicaStart } from './replica-command.js';

export function buildProgram(): Command {
  const program = new Command('shardorm').description('ShardORM tools: a local IC replica, deployment and cluster status.').showHelpAfterError();
  const replica = program.command('replica').description('The embedded local replica.');
  replica
    .command('start')
    .description('Serve the IC HTTP interface; prints "ready: <url>" and runs until SIGINT/SIGTERM.')
    .option('--port <port>', 'TCP port (0 picks a free one)', REPLICA_DEFAULTS.port)
    .option('--host <host>', 'interface to bind', REPLICA_DEFAULTS.host)
    .option('--seed <seed>', 'seed of the root key (same seed, same root key)')
    .action(replicaStart);
  program
    .command('demo')
    .description('Start the embedded replica, deploy the snippets board as a cluster, write until it splits into 4 shards, verify and print the shard map.')
    .addOption(new Option('--network <network>', NETWORK_HELP))
    .option('--ci', 'exit after the verification instead of serving until Ctrl-C')
    .action(options => demo(options));
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`shardorm: ${(error as Error).message}\n`);
  process.exitCode = 1;
}

// The `shardorm` command line (run with `npm run shardorm -- <command>` or `npx shardorm`).
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));

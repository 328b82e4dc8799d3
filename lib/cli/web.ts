// `shardorm web`: serves the sample dapp page (placeholder until the server lands).
import { CliError } from './errors.js';
import type { CliIo } from './output.js';
import type { CommonOptions } from './session.js';

export async function webCommand(_options: CommonOptions & { port?: string; cluster?: string }, _io: CliIo): Promise<void> {
  throw new CliError('web: not built yet');
}

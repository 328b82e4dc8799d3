// `shardorm upgrade [dfx canister name]`: a rolling upgrade of every shard through the manager.
// The manager's interface (lib/protocol/manager-candid.ts) has no upgrade method yet, so the
// command says so and changes nothing, rather than upgrading shards behind the manager's back
// (which would race its migrations and skip the schema upgrade hooks).
import { IDL } from '@dfinity/candid';
import { managerIdlFactory } from '../protocol/manager-candid.js';
import { CliError } from './errors.js';
import type { CliIo } from './output.js';
import type { CommonOptions } from './session.js';

/** Names the manager's rolling-upgrade method would have. */
export const UPGRADE_METHODS = ['upgrade_shards', 'start_upgrade', 'upgrade'];

export function managerSupportsUpgrade(): boolean {
  const service = managerIdlFactory({ IDL }) as IDL.ServiceClass;
  return service._fields.some(([name]) => UPGRADE_METHODS.includes(name));
}

export async function upgradeCommand(canister: string | undefined, _options: CommonOptions, _io: CliIo): Promise<void> {
  if (!managerSupportsUpgrade()) {
    throw new CliError(`rolling upgrade is not yet supported by the manager (its interface has none of ${UPGRADE_METHODS.join(', ')}); nothing was changed${canister ? ` (${canister} not built)` : ''}`);
  }
  throw new CliError('the manager offers an upgrade method this CLI does not know yet; update shardorm');
}

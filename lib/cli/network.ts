// Where the tools send their calls. `local` (the default) starts the embedded replica in-process;
// anything else is an HTTP endpoint speaking the IC interface: a dfx replica, a PocketIC gateway
// or mainnet. The root key is fetched from every network except mainnet, whose key is built in.

import { CliError } from './errors.js';

export const DFX_DEFAULT_HOST = 'http://127.0.0.1:4943';
export const MAINNET_HOST = 'https://icp-api.io';
const MAINNET_HOSTNAMES = ['icp-api.io', 'ic0.app', 'icp0.io'];

export interface Network {
  /** `local`, `dfx`, `ic` or the URL given. */
  name: string;
  /** Undefined for the embedded replica (its URL is known once it listens). */
  host?: string;
  /** Whether agents must fetch the root key from /api/v2/status (never on mainnet). */
  fetchRootKey: boolean;
  isMainnet: boolean;
}

export const NETWORK_HELP = 'local (embedded replica, default) | dfx (http://127.0.0.1:4943) | ic (mainnet) | an http(s) URL (PocketIC gateway, remote replica); default $SHARDORM_NETWORK or local';

export function resolveNetwork(spec: string = process.env.SHARDORM_NETWORK ?? 'local'): Network {
  switch (spec) {
    case 'local':
      return { name: 'local', fetchRootKey: true, isMainnet: false };
    case 'dfx':
      return { name: 'dfx', host: DFX_DEFAULT_HOST, fetchRootKey: true, isMainnet: false };
    case 'ic':
    case 'mainnet':
      return { name: 'ic', host: MAINNET_HOST, fetchRootKey: false, isMainnet: true };
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new CliError(`Unknown network "${spec}". Use ${NETWORK_HELP}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`Network URL "${spec}" must use http or https.`);
  const isMainnet = MAINNET_HOSTNAMES.some(h => url.hostname === h || url.hostname.endsWith('.' + h));
  return { name: url.toString(), host: url.toString().replace(/\/$/, ''), fetchRootKey: !isMainnet, isMainnet };
}

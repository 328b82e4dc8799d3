// Which key the CLI signs with. `--identity <pem>` wins; else $SHARDORM_IDENTITY; else dfx's default
// identity when present; else a key this CLI created once under the user's config directory (so
// the same person controls the same clusters across runs). PEMs as dfx writes them: Ed25519 in
// PKCS#8 ("BEGIN PRIVATE KEY") and secp256k1 in SEC1 ("BEGIN EC PRIVATE KEY", optionally after an
// "EC PARAMETERS" block). Node's crypto parses both; the agent libraries sign.
import type { SignIdentity } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

/** A PEM larger than this is not a key file (dfx's are ~120-300 bytes). */
export const MAX_PEM_BYTES = 16 * 1024;

export type IdentitySource = 'option' | 'env' | 'dfx' | 'created' | 'config';

export interface LoadedIdentity {
  identity: SignIdentity;
  path: string;
  source: IdentitySource;
  kind: 'ed25519' | 'secp256k1';
}

export interface ResolveIdentityOptions {
  /** The --identity option, if given. */
  file?: string;
  env: NodeJS.ProcessEnv;
}

/** dfx's default identity file for a home directory. */
export function dfxDefaultIdentityPath(env: NodeJS.ProcessEnv): string {
  return join(env.HOME ?? homedir(), '.config', 'dfx', 'identity', 'default', 'identity.pem');
}

/** Where the CLI keeps the key it creates when there is no other: $XDG_CONFIG_HOME/shardorm/identity.pem. */
export function ownIdentityPath(env: NodeJS.ProcessEnv): string {
  const config = env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), '.config');
  return join(config, 'shardorm', 'identity.pem');
}

export function resolveIdentity(options: ResolveIdentityOptions): LoadedIdentity {
  const { env } = options;
  if (options.file !== undefined) return loadPemIdentity(options.file, 'option');
  if (env.SHARDORM_IDENTITY) return loadPemIdentity(env.SHARDORM_IDENTITY, 'env');
  const dfx = dfxDefaultIdentityPath(env);
  if (existsSync(dfx)) return loadPemIdentity(dfx, 'dfx');
  const own = ownIdentityPath(env);
  if (existsSync(own)) return loadPemIdentity(own, 'config');
  createEd25519Pem(own);
  return loadPemIdentity(own, 'created');
}

export function loadPemIdentity(path: string, source: IdentitySource): LoadedIdentity {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_PEM_BYTES) throw new CliError(`identity file ${path} is ${bytes.length} bytes, not a PEM key (at most ${MAX_PEM_BYTES}); pass a dfx identity.pem`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code ?? (error as Error).message})`;
    throw new CliError(`identity file ${path} ${why}; pass --identity <pem file> or set SHARDORM_IDENTITY`);
  }
  return { ...identityFromPem(text, path), path, source };
}

/** Parses an Ed25519 (PKCS#8) or secp256k1 (SEC1 or PKCS#8) private key PEM. */
export function identityFromPem(pem: string, name = 'the PEM'): { identity: SignIdentity; kind: 'ed25519' | 'secp256k1' } {
  const block = /-----BEGIN (EC PRIVATE KEY|PRIVATE KEY)-----[\s\S]+?-----END \1-----/.exec(pem);
  if (block === null) throw new CliError(`${name} holds no private key (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----", as dfx writes)`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block[0], format: 'pem' });
  } catch (error) {
    throw new CliError(`${name} is not a valid private key PEM (${(error as Error).message})`);
  }
  const secret = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  if (key.asymmetricKeyType === 'ed25519') return { identity: Ed25519KeyIdentity.fromSecretKey(new Uint8Array(secret)), kind: 'ed25519' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp256k1') {
    return { identity: Secp256k1KeyIdentity.fromSecretKey(new Uint8Array(secret)), kind: 'secp256k1' };
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new CliError(`${name} is a ${key.asymmetricKeyType}${curve ? ` (${curve})` : ''} key; the IC tools sign with Ed25519 or secp256k1`);
}

/** Writes a fresh Ed25519 key as PKCS#8 PEM, readable by its owner only. */
export function createEd25519Pem(path: string): void {
  const { privateKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
}

// Sender signature schemes the IC accepts for ingress (interface spec, "Signatures"): Ed25519 and
// ECDSA on secp256k1 or P-256 with SHA-256, keys DER-encoded as SubjectPublicKeyInfo, signatures
// raw (Ed25519) or r‖s (ECDSA). Canister signatures (Internet Identity) are refused with a clear
// message: the local replica has no other subnet whose certificates could back them.
import { uint8Equals } from '@dfinity/agent';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { BoundedMemo } from './bounded-memo.js';
import { forbidden } from './errors.js';

export type KeyScheme = 'ed25519' | 'secp256k1' | 'p256';

interface SchemeFormat {
  scheme: KeyScheme;
  prefix: Uint8Array;
  /** Length of the raw key after the DER prefix. */
  keyLength: number;
}

// SPKI prefixes: SEQUENCE { SEQUENCE { algorithm OID [, curve OID] } BIT STRING { key } }.
const FORMATS: readonly SchemeFormat[] = [
  { scheme: 'ed25519', prefix: hexToBytes('302a300506032b6570032100'), keyLength: 32 },
  { scheme: 'secp256k1', prefix: hexToBytes('3056301006072a8648ce3d020106052b8104000a034200'), keyLength: 65 },
  { scheme: 'p256', prefix: hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200'), keyLength: 65 }
];
const CANISTER_SIGNATURE_OID = Buffer.from('060a2b0601040183b8430102', 'hex');
/** Parsed keys kept for reuse (a busy client signs every request with the same key). */
const MAX_CACHED_KEYS = 1024;
const keyObjects = new BoundedMemo<string, KeyObject>(MAX_CACHED_KEYS);

export interface PublicKey {
  scheme: KeyScheme;
  raw: Uint8Array;
  der: Uint8Array;
}

/** Parses a DER public key, or throws a 403 naming the schemes that are accepted. */
export function parsePublicKey(der: Uint8Array): PublicKey {
  for (const format of FORMATS) {
    if (der.length === format.prefix.length + format.keyLength && uint8Equals(der.subarray(0, format.prefix.length), format.prefix)) {
      return { scheme: format.scheme, raw: der.subarray(format.prefix.length), der };
    }
  }
  if (Buffer.from(der).includes(CANISTER_SIGNATURE_OID)) {
    throw forbidden('Canister signatures (e.g. Internet Identity delegations) are not supported by the local replica; sign with an Ed25519, secp256k1 or P-256 key.');
  }
  throw forbidden(`Unsupported sender public key (DER ${bytesToHex(der.subarray(0, 24))}…); use an Ed25519, secp256k1 or P-256 key encoded as SubjectPublicKeyInfo.`);
}

/**
 * Verifies `signature` over `message` (the domain-separated bytes, not yet hashed) with Node's
 * native crypto (OpenSSL): ~50x faster than pure-JS curves, which matters on every request.
 * ECDSA is over SHA-256 with r‖s signatures; high-S values are accepted, as the IC does.
 */
export function verifySignature(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    const publicKey = keyObject(key.der);
    if (key.scheme === 'ed25519') return verify(null, message, publicKey, signature);
    return verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** Node's parsed form of a DER key (parsing costs about as much as verifying), cached by DER. */
function keyObject(der: Uint8Array): KeyObject {
  return keyObjects.get(bytesToHex(der), () => createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }));
}

// The replica's identity: a BLS12-381 subnet key (certifies state, min-sig: G2 public key, G1
// signatures) and one Ed25519 node key (signs query responses). Derived from a seed so a replica
// restarted with the same seed keeps its root key, and tests are reproducible.
import { BLS12_381_G2_OID, ED25519_OID, wrapDER } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/abstract/utils';
import { bls12_381 } from '@noble/curves/bls12-381';
import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils';

export interface ReplicaKeys {
  blsSecretKey: Uint8Array;
  /** DER-encoded BLS public key: the root key the agent fetches from /api/v2/status. */
  rootKeyDer: Uint8Array;
  /** Without a delegation, the subnet id is the self-authenticating principal of the root key. */
  subnetId: Principal;
  nodeSecretKey: Uint8Array;
  nodeKeyDer: Uint8Array;
  nodeId: Principal;
}

export function deriveReplicaKeys(seed: string | number): ReplicaKeys {
  const material = (purpose: string) => sha256(concatBytes(utf8ToBytes(`shardorm/replica/${purpose}/`), utf8ToBytes(String(seed))));
  // Reduce into [1, r): any 32 bytes mod r is a valid scalar once zero is excluded.
  const order = bls12_381.params.r;
  const scalar = (bytesToNumberBE(material('bls')) % (order - 1n)) + 1n;
  const blsSecretKey = numberToBytesBE(scalar, 32);
  // DER as the agent parses root keys (SubjectPublicKeyInfo with the IC's BLS12-381 G2 OIDs).
  const rootKeyDer = wrapDER(bls12_381.getPublicKeyForShortSignatures(blsSecretKey), BLS12_381_G2_OID);
  const nodeSecretKey = material('node');
  const nodeKeyDer = wrapDER(ed25519.getPublicKey(nodeSecretKey), ED25519_OID);
  return {
    blsSecretKey,
    rootKeyDer,
    subnetId: Principal.selfAuthenticating(rootKeyDer),
    nodeSecretKey,
    nodeKeyDer,
    nodeId: Principal.selfAuthenticating(nodeKeyDer)
  };
}

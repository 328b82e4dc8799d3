// The replica's certified state tree, assembled on demand from the engine's IngressBackend:
//   /time                                   LEB128 nanoseconds
//   /canister_ranges/<sid>/<lowest id>      CBOR [[lowest, highest]] (the sharded form newer agents read)
//   /subnet/<sid>/{public_key, canister_ranges, node/<nid>/public_key}
//   /request_status/<request id>/...        see request-log.ts
//   /canister/<cid>/{certified_data, module_hash, controllers}
// There is no delegation: the root key signs directly, so the subnet id is the self-authenticating
// principal of the root key (as the agent assumes for a local replica).
import { lebEncode } from '@dfinity/candid';
import { encode } from '@dfinity/cbor';
import type { Principal } from '@dfinity/principal';
import { bytesToHex } from '@noble/hashes/utils';
import type { IngressBackend } from '../ingress.js';
import type { StateContent } from './certificate.js';
import { LabeledTree } from './hash-tree.js';
import type { ReplicaKeys } from './keys.js';
import type { RequestLog } from './request-log.js';

/** Every canister id (<u64 big-endian>·0x01·0x01) lies in this one range of the single subnet. */
export const CANISTER_RANGE_START = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
export const CANISTER_RANGE_END = Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 255, 1, 1]);

/** The parts of the tree fixed for a replica's life, so built (and hashed) once: see `subnetTrees`. */
export interface SubnetTrees {
  subnet: LabeledTree;
  canisterRanges: LabeledTree;
}

export function buildStateTree(backend: IngressBackend, fixed: SubnetTrees, log: RequestLog, timeNs: bigint): LabeledTree {
  return LabeledTree.map([
    ['time', LabeledTree.leaf(new Uint8Array(lebEncode(timeNs)))],
    ['canister_ranges', fixed.canisterRanges],
    ['subnet', fixed.subnet],
    ['request_status', log.tree()],
    ['canister', LabeledTree.map(backend.canisterIds().flatMap(id => canisterEntry(backend, id)))]
  ]);
}

/** The state as CertifiedState reads it: the tree at a time, and a digest of all but the time. */
export function stateContent(backend: IngressBackend, fixed: SubnetTrees, log: RequestLog): StateContent {
  return {
    tree: timeNs => buildStateTree(backend, fixed, log, timeNs),
    digest: tree => tree.children.filter(([label]) => Buffer.from(label).toString() !== 'time').map(([, child]) => bytesToHex(child.hash())).join('/')
  };
}

export function subnetTrees(keys: ReplicaKeys): SubnetTrees {
  const node = LabeledTree.map([[keys.nodeId.toUint8Array(), LabeledTree.map([['public_key', LabeledTree.leaf(keys.nodeKeyDer)]])]]);
  const ranges = encode([[CANISTER_RANGE_START, CANISTER_RANGE_END]]);
  const subnet = LabeledTree.map([
    [
      keys.subnetId.toUint8Array(),
      LabeledTree.map([
        ['public_key', LabeledTree.leaf(keys.rootKeyDer)],
        ['canister_ranges', LabeledTree.leaf(ranges)],
        ['node', node]
      ])
    ]
  ]);
  const canisterRanges = LabeledTree.map([[keys.subnetId.toUint8Array(), LabeledTree.map([[CANISTER_RANGE_START, LabeledTree.leaf(ranges)]])]]);
  return { subnet, canisterRanges };
}

function canisterEntry(backend: IngressBackend, id: Principal): [Uint8Array, LabeledTree][] {
  const info = backend.canisterInfo(id);
  if (info === undefined) return [];
  const fields: [string, LabeledTree][] = [
    ['certified_data', LabeledTree.leaf(info.certifiedData)],
    ['controllers', LabeledTree.leaf(encode(info.controllers.map(c => c.toUint8Array())))]
  ];
  if (info.moduleHash !== undefined) fields.push(['module_hash', LabeledTree.leaf(info.moduleHash)]);
  return [[id.toUint8Array(), LabeledTree.map(fields)]];
}

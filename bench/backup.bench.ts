// Backup and restore throughput (MiB/s) through the CLI's code (lib/cli/backup.ts, restore.ts) over
// the embedded replica's HTTP interface: CANISTERS canisters, each with MIB_PER_CANISTER MiB of
// stable memory, backed up (stop, snapshot, start, download in 1 MiB chunks with a
// SHA-256 per chunk), wiped (reinstall) and restored (verify every hash, upload, load). Backup and
// restore run side by side in one process, so their ratio is meaningful on a noisy machine.
// The filler is a hand-built Wasm canister (stable64_grow + stable64_write of 64 KiB blocks), not
// the Azle probe's fillStable: QuickJS spends >10^10 instructions per MiB inserted into a
// StableBTreeMap (4 MiB in one message hits IC0522), so 256 MiB through it would take hours.
//   npx tsx bench/backup.bench.ts        (BENCH_BACKUP_CANISTERS, BENCH_BACKUP_MIB override)
import { rmSync } from 'node:fs';
import { runBackup } from '../lib/cli/backup.js';
import type { HttpAgent } from '@dfinity/agent';
import { createCanister, installWasm } from '../lib/cli/deploy.js';
import { managementCanister } from '../lib/cli/management.js';
import { runRestore } from '../lib/cli/restore.js';
import { agentFor, replica, tempDir, writeEd25519Pem } from '../__tests__/cli/helpers.js';
import { I32, I64, ModuleBuilder, op } from '../__tests__/replica/wasm-builder.js';

const CANISTERS = Number(process.env.BENCH_BACKUP_CANISTERS ?? 4);
const MIB_PER_CANISTER = Number(process.env.BENCH_BACKUP_MIB ?? 64);
const BLOCK_BYTES = 64 * 1024;

/** `fill`: grows stable memory by MIB_PER_CANISTER MiB and writes 64 KiB blocks, each stamped with its index; `block(i)` queries block i's stamp. */
function fillerWasm(): Uint8Array {
  const m = new ModuleBuilder();
  const reply = m.import('msg_reply', []);
  const append = m.import('msg_reply_data_append', [I32, I32]);
  const argCopy = m.import('msg_arg_data_copy', [I32, I32, I32]);
  const grow = m.import('stable64_grow', [I64], [I64]);
  const write = m.import('stable64_write', [I64, I64, I64]);
  const read = m.import('stable64_read', [I64, I64, I64]);
  const blocks = (MIB_PER_CANISTER * 1024 * 1024) / BLOCK_BYTES;
  const extendU = [0xad];
  m.func(
    [
      ...op.i64(blocks), ...op.call(grow), ...op.drop,
      ...op.i32(0), 0x21, 0,
      ...op.loop([
        ...op.i32(0), ...op.localGet(0), ...op.i32Store,
        ...op.localGet(0), ...op.i32(BLOCK_BYTES), 0x6c, ...extendU, ...op.i64(0), ...op.i64(BLOCK_BYTES), ...op.call(write),
        ...op.localGet(0), ...op.i32(1), ...op.i32Add, 0x22, 0,
        ...op.i32(blocks), 0x49, 0x0d, 0,
      ]),
      ...op.call(reply),
    ],
    { export: 'canister_update fill', locals: 1 },
  );
  // block: the argument is a raw 4-byte little-endian index; the reply is that block's first 4 bytes.
  m.func(
    [
      ...op.i32(BLOCK_BYTES), ...op.i32(0), ...op.i32(4), ...op.call(argCopy),
      ...op.i64(BLOCK_BYTES), ...op.i32(BLOCK_BYTES), ...op.i32Load, ...extendU, ...op.i64(BLOCK_BYTES), 0x7e, ...op.i64(4), ...op.call(read),
      ...op.i32(BLOCK_BYTES), ...op.i32(4), ...op.call(append), ...op.call(reply),
    ],
    { export: 'canister_query block' },
  );
  m.segment(4, Array.from({ length: BLOCK_BYTES - 4 }, (_, i) => (i * 31 + 7) & 255));
  return m.build();
}

async function blockStamp(agent: HttpAgent, canisterId: import('@dfinity/principal').Principal, index: number): Promise<number> {
  const arg = new Uint8Array(new Uint32Array([index]).buffer);
  const reply = await agent.query(canisterId, { methodName: 'block', arg });
  if (reply.status !== 'replied') throw new Error(`block(${index}) was rejected: ${JSON.stringify(reply)}`);
  return new DataView(reply.reply.arg.buffer, reply.reply.arg.byteOffset).getUint32(0, true);
}

const server = await replica();
const work = tempDir('bench-backup');
try {
  const agent = await agentFor(server.url, writeEd25519Pem(work));
  const wasm = fillerWasm();
  const management = managementCanister(agent);
  const ids = [];
  for (let i = 0; i < CANISTERS; i++) {
    const id = await createCanister(management, [await agent.getPrincipal()]);
    await installWasm(management, id, wasm);
    await agent.call(id, { methodName: 'fill', arg: new Uint8Array() }).then(() => undefined);
    ids.push(id);
  }
  const last = (MIB_PER_CANISTER * 1024 * 1024) / BLOCK_BYTES - 1;
  // An update is answered once its certificate is readable; wait for the fill through a query.
  for (const id of ids) for (let t = 0; (await blockStamp(agent, id, last)) !== last; t++) if (t > 600) throw new Error('fill did not finish');
  const targets = ids.map((canisterId) => ({ canisterId, role: 'canister' as const }));
  const dir = `${work}/backup`;
  const backup = await runBackup({ agent, dir, network: 'bench', targets });
  for (const id of ids) await installWasm(management, id, wasm, { mode: { reinstall: null } });
  if ((await blockStamp(agent, ids[0], 0).catch(() => -1)) !== -1) throw new Error('the reinstall did not wipe stable memory');
  const restore = await runRestore({ agent, dir, onto: 'same' });
  for (const id of ids) if ((await blockStamp(agent, id, last)) !== last) throw new Error(`restore lost ${id.toText()}'s last block`);
  const mib = backup.bytes / 1048576;
  console.log(`### Backup and restore throughput (\`npx tsx bench/backup.bench.ts\`)

${CANISTERS} canisters × ${MIB_PER_CANISTER} MiB of stable memory (hand-built Wasm filler, 64 KiB blocks), embedded replica over HTTP,
1 MiB chunks, ${'4'} chunk calls in flight, SHA-256 of every chunk. Snapshot size includes heap and Wasm.

| step | MiB | seconds | MiB/s |
|---|---:|---:|---:|
| backup (stop, snapshot, start, download, hash) | ${mib.toFixed(1)} | ${backup.seconds.toFixed(1)} | ${backup.mibPerSecond.toFixed(1)} |
| restore (verify hashes, upload, load) | ${(restore.bytes / 1048576).toFixed(1)} | ${restore.seconds.toFixed(1)} | ${restore.mibPerSecond.toFixed(1)} |

restore / backup time ratio: ${(restore.seconds / backup.seconds).toFixed(2)}`);
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}

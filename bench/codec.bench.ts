// Candid codec throughput: encode/decode of entities through EntityCodec (validation, header,
// full self-describing Candid message), side by side in one run with bare IDL.encode/IDL.decode
// (no validation, no header) and JSON (a non-Candid reference, which cannot carry bigint/blob).
// Prints a markdown section. Figures are ratios within this run, on this machine.
//   npm run bench -- codec        (or: npx tsx bench/codec.bench.ts)
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { codecFor, Field, getEntityMetadata, hydrate, PrimaryKey, ShardedCollection, ShardKey, Version } from '../lib/index.js';

const MIN_MS = 300; // each timing repeats for at least this long, best of ROUNDS
const ROUNDS = 3;

@ShardedCollection({ name: 'bench_snippet' })
class Snippet {
  @ShardKey @Field(IDL.Text) pageId!: string;
  @PrimaryKey @Field(IDL.Text) id!: string;
  @Field(IDL.Text) body!: string;
  @Field(IDL.Principal) owner!: Principal;
  @Field(IDL.Opt(IDL.Nat64)) editedAt?: bigint;
  @Version @Field(IDL.Nat64) version!: bigint;
}

@ShardedCollection({ name: 'bench_order' })
class Order {
  @ShardKey @Field(IDL.Principal) customer!: Principal;
  @PrimaryKey @Field(IDL.Nat64) orderId!: bigint;
  @Field(IDL.Vec(IDL.Record({ sku: IDL.Text, qty: IDL.Nat32, price: IDL.Float64 }))) lines!: { sku: string; qty: number; price: number }[];
  @Field(IDL.Variant({ Pending: IDL.Null, Shipped: IDL.Record({ at: IDL.Nat64, carrier: IDL.Text }), Cancelled: IDL.Text })) status!: object;
  @Field(IDL.Vec(IDL.Text)) tags!: string[];
}

@ShardedCollection({ name: 'bench_file' })
class FileChunk {
  @ShardKey @Field(IDL.Text) fileId!: string;
  @PrimaryKey @Field(IDL.Nat32) index!: number;
  @Field(IDL.Vec(IDL.Nat8)) data!: Uint8Array;
}

const owner = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
const cases: { name: string; ctor: object; value: Record<string, unknown> }[] = [
  { name: 'Snippet (6 fields, 200-char text)', ctor: Snippet, value: { pageId: 'page-42', id: 'snip-0001', body: 'lorem ipsum '.repeat(17), owner, editedAt: 1_700_000_000_000n, version: 3n } },
  {
    name: 'Order (vec of 20 records, variant)',
    ctor: Order,
    value: {
      customer: owner,
      orderId: 123456789n,
      lines: Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${i}`, qty: i + 1, price: 9.99 * i })),
      status: { Shipped: { at: 1_700_000_000_000n, carrier: 'ups' } },
      tags: ['gift', 'express', 'eu'],
    },
  },
  { name: 'FileChunk (64 KiB blob)', ctor: FileChunk, value: { fileId: 'f1', index: 7, data: new Uint8Array(64 * 1024).map((_, i) => i & 0xff) } },
];

function rate(op: () => unknown): number {
  let best = 0;
  let sink: unknown;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < MIN_MS) {
      for (let i = 0; i < 50; i++) sink = op();
      n += 50;
      t = performance.now();
    }
    best = Math.max(best, (n * 1000) / (t - t0));
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return best;
}

const jsonSafe = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Array.from(x) : x instanceof Principal ? x.toText() : x));
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));

const rows: string[] = [];
for (const c of cases) {
  const meta = getEntityMetadata(c.ctor as never);
  const codec = codecFor(meta);
  const bytes = codec.encode(c.value).slice(); // a copy, as bytes arrive from a store or a request (not the in-process shortcut)
  // The same record as bare Candid: only the top-level opt field needs its [] / [v] form.
  const raw = { ...c.value, ...(c.value.editedAt === undefined ? {} : { editedAt: [c.value.editedAt] }) };
  const candid = new Uint8Array(IDL.encode([codec.writeType], [raw]));
  const json = jsonSafe(c.value);
  const enc = rate(() => codec.encode(c.value));
  const dec = rate(() => hydrate(meta, codec.decode(bytes).record));
  const rawEnc = rate(() => IDL.encode([codec.writeType], [raw]));
  const rawDec = rate(() => IDL.decode([codec.writeType], candid));
  const jEnc = rate(() => jsonSafe(c.value));
  const jDec = rate(() => JSON.parse(json));
  const mb = (perSec: number, size: number) => `${((perSec * size) / 1e6).toFixed(1)}`;
  rows.push(
    `| ${c.name} | ${bytes.length} | ${fmt(enc)}/s · ${mb(enc, bytes.length)} MB/s | ${fmt(dec)}/s · ${mb(dec, bytes.length)} MB/s | ` +
      `${fmt(rawEnc)}/s / ${fmt(rawDec)}/s | ${json.length} B · ${fmt(jEnc)}/s / ${fmt(jDec)}/s |`,
  );
}

console.log(`## Candid codecs (encode/decode throughput)

\`npx tsx bench/codec.bench.ts\` — Node ${process.version}, best of ${ROUNDS} × ≥${MIN_MS} ms per cell, one process.
EntityCodec = validation + 3-byte header + self-describing Candid message (compiled writers and readers); decode reads bytes that arrived from elsewhere and includes hydration into a class instance.

| entity | stored bytes | EntityCodec encode | EntityCodec decode + hydrate | bare IDL encode / decode | JSON (reference) size · stringify / parse |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}
`);

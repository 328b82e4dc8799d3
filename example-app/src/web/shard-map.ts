// The live shard map: one bar per shard (canister id, hash range, entity count, the shard's data
// against the split limit, its canister memory). Bars are keyed by canister id, so a split adds a bar that slides in and a changed bar's
// width animates (CSS transitions) instead of the whole map being redrawn.
import type { StatusView } from './backends.js';

const HASH_DIGITS = 16;

export function renderShardMap(root: HTMLElement, status: StatusView): void {
  const limit = status.limitBytes ?? Math.max(1, ...status.shards.map((s) => s.logicalBytes));
  const seen = new Set<string>();
  status.shards.forEach((s, index) => {
    seen.add(s.canisterId);
    let row = root.querySelector<HTMLElement>(`[data-shard="${s.canisterId}"]`);
    if (row === null) {
      row = document.createElement('div');
      row.className = 'shard';
      row.dataset.shard = s.canisterId;
      row.innerHTML = '<div><div class="id"></div><div class="range"></div></div><div class="bar"><div class="fill"></div><span class="label"></span></div><div class="entities"></div>';
    }
    if (root.children[index] !== row) root.insertBefore(row, root.children[index] ?? null);
    const previous = row.dataset.entities;
    row.dataset.entities = String(s.entities);
    row.classList.toggle('changed', previous !== undefined && previous !== String(s.entities));
    row.querySelector('.id')!.textContent = s.canisterId;
    row.querySelector('.range')!.textContent = `[${hex(s.range[0])}, ${hex(s.range[1])})`;
    (row.querySelector('.fill') as HTMLElement).style.width = `${Math.min(100, (s.logicalBytes / limit) * 100).toFixed(1)}%`;
    row.querySelector('.label')!.textContent = `${kib(s.logicalBytes)} of ${kib(limit)} · memory ${kib(s.memoryBytes)}`;
    row.querySelector('.entities')!.textContent = `${s.entities} entities`;
  });
  for (const row of Array.from(root.querySelectorAll<HTMLElement>('[data-shard]'))) if (!seen.has(row.dataset.shard!)) row.remove();
}

function hex(decimal: string): string {
  return BigInt(decimal).toString(16).padStart(HASH_DIGITS, '0');
}

function kib(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

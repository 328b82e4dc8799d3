// The committed copy of a canister's Wasm heap, kept as immutable 64 KiB pages (all-zero pages
// omitted). After an execution the live memory is compared page by page with it: a commit copies
// the changed pages in, a rollback copies them back out. Pages are visited only where the write
// barrier (write-barrier.ts, dirty-pages.ts) saw a write — a handful per message instead of the
// whole heap — or all of them when the caller has no such list (memory64 modules, the end of a
// composite query). clone() is O(pages) pointers (snapshots, upgrades): a page shared with
// a clone is never mutated (copy on write); pages no clone shares are overwritten in place.
import { invariant } from './errors.js';
import { WASM_PAGE } from './stable-memory.js';

export class HeapStore {
  /** Pages whose arrays no clone shares: commit may overwrite them in place (no allocation). */
  private owned = new Set<number>();

  constructor(
    private pages = new Map<number, Uint8Array>(),
    /** Size of the Wasm memory in 64 KiB pages. */
    public sizePages = 0
  ) {}

  get byteLength(): number {
    return this.sizePages * WASM_PAGE;
  }

  get residentPages(): number {
    return this.pages.size;
  }

  clone(): HeapStore {
    this.owned.clear(); // every page is now shared with the clone
    return new HeapStore(new Map(this.pages), this.sizePages);
  }

  /** Takes everything from a memory (after instantiation): every non-zero page. */
  static capture(memory: WebAssembly.Memory): HeapStore {
    const store = new HeapStore(new Map(), memory.buffer.byteLength / WASM_PAGE);
    const bytes = new Uint8Array(memory.buffer);
    for (let p = 0; p < store.sizePages; p++) {
      const page = bytes.subarray(p * WASM_PAGE, (p + 1) * WASM_PAGE);
      if (!isZero(page)) {
        store.pages.set(p, page.slice());
        store.owned.add(p);
      }
    }
    return store;
  }

  /**
   * Commits the live memory: copies changed pages. `written` lists, ascending, every page that may
   * differ from the committed state (omitted: any may). Returns how many pages changed.
   */
  commit(memory: WebAssembly.Memory, written?: readonly number[]): number {
    const bytes = new Uint8Array(memory.buffer);
    const size = bytes.length / WASM_PAGE;
    invariant(size >= this.sizePages, 'a Wasm memory cannot shrink');
    let changed = 0;
    for (const p of written ?? range(size)) {
      const live = bytes.subarray(p * WASM_PAGE, (p + 1) * WASM_PAGE);
      const committed = this.pages.get(p);
      if (committed ? Buffer.compare(live, committed) !== 0 : !isZero(live)) {
        if (committed && this.owned.has(p)) committed.set(live);
        else {
          this.pages.set(p, live.slice());
          this.owned.add(p);
        }
        changed++;
      }
    }
    this.sizePages = size;
    return changed;
  }

  /**
   * Rolls the live memory back to the committed state (`written` as for commit). Returns false when the memory grew: Wasm
   * memories cannot shrink, so the caller must re-instantiate.
   */
  restore(memory: WebAssembly.Memory, written?: readonly number[]): boolean {
    const bytes = new Uint8Array(memory.buffer);
    if (bytes.length / WASM_PAGE !== this.sizePages) return false;
    for (const p of written ?? range(this.sizePages)) {
      const live = bytes.subarray(p * WASM_PAGE, (p + 1) * WASM_PAGE);
      const committed = this.pages.get(p);
      if (committed) {
        if (Buffer.compare(live, committed) !== 0) live.set(committed);
      } else if (!isZero(live)) live.fill(0);
    }
    return true;
  }

  /**
   * `marked` plus those of `heads` whose first `headBytes` differ from the committed state, sorted:
   * the pages a commit or restore must visit when only those bytes of the heads may have changed.
   */
  withChangedHeads(memory: WebAssembly.Memory, marked: readonly number[], heads: readonly number[], headBytes: number): number[] {
    const bytes = new Uint8Array(memory.buffer);
    const changed = heads.filter((p) => {
      const live = bytes.subarray(p * WASM_PAGE, p * WASM_PAGE + headBytes);
      const committed = this.pages.get(p);
      return committed ? Buffer.compare(live, committed.subarray(0, headBytes)) !== 0 : live.some((b) => b !== 0);
    });
    return changed.length === 0 ? [...marked] : [...marked, ...changed].sort((a, b) => a - b);
  }

  /** The first page where the live memory differs from the committed state, or -1 (checks the write barrier). */
  firstDifference(memory: WebAssembly.Memory): number {
    const bytes = new Uint8Array(memory.buffer);
    if (bytes.length / WASM_PAGE !== this.sizePages) return this.sizePages;
    for (let p = 0; p < this.sizePages; p++) {
      const live = bytes.subarray(p * WASM_PAGE, (p + 1) * WASM_PAGE);
      const committed = this.pages.get(p);
      if (committed ? Buffer.compare(live, committed) !== 0 : !isZero(live)) return p;
    }
    return -1;
  }

  /** Writes the committed state into a fresh memory (at most as large as the committed one). */
  load(memory: WebAssembly.Memory): void {
    const current = memory.buffer.byteLength / WASM_PAGE;
    invariant(current <= this.sizePages, `fresh memory (${current} pages) larger than the committed heap (${this.sizePages})`);
    if (current < this.sizePages) memory.grow(this.sizePages - current);
    const bytes = new Uint8Array(memory.buffer);
    for (let p = 0; p < this.sizePages; p++) {
      const committed = this.pages.get(p);
      if (committed) bytes.set(committed, p * WASM_PAGE);
      else if (p < current) bytes.fill(0, p * WASM_PAGE, (p + 1) * WASM_PAGE);
    }
  }

  page(index: number): Uint8Array | undefined {
    return this.pages.get(index);
  }

  setPage(index: number, data: Uint8Array): void {
    invariant(data.length === WASM_PAGE, 'heap pages are 64 KiB');
    if (isZero(data)) this.pages.delete(index);
    else this.pages.set(index, data);
    this.owned.delete(index); // the caller may keep a reference
  }
}

function* range(n: number): Iterable<number> {
  for (let p = 0; p < n; p++) yield p;
}

const ZERO = new Uint8Array(WASM_PAGE);

export function isZero(page: Uint8Array): boolean {
  return page.length === WASM_PAGE ? Buffer.compare(page, ZERO) === 0 : page.every((b) => b === 0);
}

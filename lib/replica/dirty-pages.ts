// The replica's side of the write barrier (write-barrier.ts): reads which 64 KiB heap pages a
// live instance's stores marked during an execution, clears the marks for the next one, and marks
// the pages the System API writes from JavaScript (msg_arg_data_copy, stable_read, …), which no
// store instruction sees. HeapStore.commit / restore then visit only these pages.
import { invariant } from './errors.js';
import { BARRIER_PAGE_SHIFT, BARRIER_TABLE_SIZE, DIRTY_RESET_EXPORT, DIRTY_TABLE_EXPORT } from './write-barrier.js';

/** Any non-null value marks a clean entry (null is dirty: see write-barrier.ts). */
const CLEAN = 1;

export class DirtyPages {
  private constructor(private readonly table: WebAssembly.Table) {}

  /** The tracker of an instance whose module has the barrier; every page starts clean. */
  static of(exports: WebAssembly.Exports): DirtyPages {
    const table = exports[DIRTY_TABLE_EXPORT] as WebAssembly.Table;
    const reset = exports[DIRTY_RESET_EXPORT] as (clean: unknown) => void;
    invariant(table instanceof WebAssembly.Table && table.length === BARRIER_TABLE_SIZE && typeof reset === 'function', 'instrumented module lacks the write-barrier exports');
    reset(CLEAN);
    return new DirtyPages(table);
  }

  /** Marks [ptr, ptr + length) written (a System API copy into the heap). */
  mark(ptr: number, length: number): void {
    if (length === 0) return;
    const last = (ptr + length - 1) >>> BARRIER_PAGE_SHIFT;
    for (let p = ptr >>> BARRIER_PAGE_SHIFT; p <= last; p++) this.table.set(p, null);
  }

  /**
   * The pages below `pages` (the memory's size in 64 KiB pages) that may have been written,
   * ascending, and clears the marks. `marked`: every byte may have changed; `heads`: pages after a
   * marked one that are not marked themselves, of which only the first STRADDLE_BYTES may have
   * changed (a store that began in the marked page and straddled into them; write-barrier.ts).
   */
  take(pages: number): { marked: number[]; heads: number[] } {
    const marked: number[] = [];
    const heads: number[] = [];
    const table = this.table;
    for (let p = 0; p < pages; p++) {
      if (table.get(p) !== null) continue;
      table.set(p, CLEAN);
      if (heads[heads.length - 1] === p) heads.pop();
      marked.push(p);
      if (p + 1 < pages) heads.push(p + 1);
    }
    return { marked, heads };
  }
}

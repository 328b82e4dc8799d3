// Stable memory as a sparse map of 64 KiB pages with copy-on-write and a per-execution undo log.
// Growing costs nothing (Azle grows to 64 MiB at init and touches a few pages); a page array is
// never mutated once committed, so snapshots and clones share pages safely (O(pages) pointers).
import { CanisterTrap, ErrorCode, invariant } from './errors.js';

export const WASM_PAGE = 65536;
/** 500 GiB, the IC's stable memory limit. */
export const MAX_STABLE_PAGES = (500 * 1024 * 1024 * 1024) / WASM_PAGE;
const ZERO_PAGE = new Uint8Array(WASM_PAGE);

/**
 * Splits the byte range [offset, offset + length) at 64 KiB page boundaries: `f` gets the page
 * index, the offset inside that page, how many bytes of the range came before, and the span length.
 */
export function forEachPageSpan(offset: number, length: number, f: (page: number, inPage: number, done: number, n: number) => void): void {
  for (let done = 0; done < length; ) {
    const pos = offset + done;
    const inPage = pos % WASM_PAGE;
    const n = Math.min(length - done, WASM_PAGE - inPage);
    f(Math.floor(pos / WASM_PAGE), inPage, done, n);
    done += n;
  }
}

export class StableMemory {
  private pages: Map<number, Uint8Array>;
  private sizePages: number;
  /** Pages as they were before the current execution first wrote them (undefined: was absent). */
  private undo = new Map<number, Uint8Array | undefined>();
  private sizeBefore: number;

  constructor(pages = new Map<number, Uint8Array>(), sizePages = 0) {
    this.pages = pages;
    this.sizePages = sizePages;
    this.sizeBefore = sizePages;
  }

  /** Size in 64 KiB pages. */
  get size(): number {
    return this.sizePages;
  }

  get byteLength(): number {
    return this.sizePages * WASM_PAGE;
  }

  /** Committed pages that hold data (others read as zeros). */
  get residentPages(): number {
    return this.pages.size;
  }

  /** A copy sharing page arrays: O(pages), used by snapshots and upgrade rollback. */
  clone(): StableMemory {
    invariant(this.undo.size === 0, 'StableMemory.clone during an execution');
    return new StableMemory(new Map(this.pages), this.sizePages);
  }

  /** Returns the previous size, or -1 when the new size would exceed `limitPages`. */
  grow(pages: number, limitPages = MAX_STABLE_PAGES): number {
    const previous = this.sizePages;
    if (pages < 0 || previous + pages > limitPages) return -1;
    this.sizePages = previous + pages;
    return previous;
  }

  read(offset: number, length: number, into: Uint8Array, at: number): void {
    this.check(offset, length);
    const inPage = offset % WASM_PAGE;
    if (inPage + length <= WASM_PAGE) {
      // One page (almost every access of a B-tree node or a small value): no span walk.
      const data = this.pages.get((offset - inPage) / WASM_PAGE);
      if (data) into.set(data.subarray(inPage, inPage + length), at);
      else into.fill(0, at, at + length);
      return;
    }
    forEachPageSpan(offset, length, (page, inPage, done, n) => {
      const data = this.pages.get(page);
      if (data) into.set(data.subarray(inPage, inPage + n), at + done);
      else into.fill(0, at + done, at + done + n);
    });
  }

  write(offset: number, data: Uint8Array): void {
    this.check(offset, data.length);
    const inPage = offset % WASM_PAGE;
    if (inPage + data.length <= WASM_PAGE) {
      this.writablePage((offset - inPage) / WASM_PAGE).set(data, inPage);
      return;
    }
    forEachPageSpan(offset, data.length, (page, inPage, done, n) => this.writablePage(page).set(data.subarray(done, done + n), inPage));
  }

  /** Ends an execution keeping its writes. */
  commit(): void {
    this.undo.clear();
    this.sizeBefore = this.sizePages;
  }

  /** Ends an execution discarding its writes and growth. */
  rollback(): void {
    for (const [page, before] of this.undo) {
      if (before) this.pages.set(page, before);
      else this.pages.delete(page);
    }
    this.undo.clear();
    this.sizePages = this.sizeBefore;
  }

  /** Whole pages for snapshot download and tests; absent pages are zero. */
  page(index: number): Uint8Array {
    return this.pages.get(index) ?? ZERO_PAGE;
  }

  private writablePage(page: number): Uint8Array {
    if (!this.undo.has(page)) {
      const before = this.pages.get(page);
      this.undo.set(page, before);
      const copy = before ? before.slice() : new Uint8Array(WASM_PAGE);
      this.pages.set(page, copy);
      return copy;
    }
    return this.pages.get(page)!;
  }

  private check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.sizePages * WASM_PAGE) {
      throw new CanisterTrap(
        `stable memory out of bounds: offset ${offset} + length ${length} > size ${this.sizePages * WASM_PAGE}`,
        ErrorCode.CanisterTrapped
      );
    }
  }
}

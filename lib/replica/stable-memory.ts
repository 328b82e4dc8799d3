// Stable memory as a sparse map of 64 KiB pages with copy-on-write and a per-execution undo log.
// Growing costs nothing (Azle grows to 64 MiB at init and touches a few pages). A page array a
// clone shares is never mutated (a write copies it first), so snapshots and clones share pages
// safely (O(pages) pointers). A page no clone shares is written in place, and the undo log keeps
// only the 4 KiB chunks an execution changed: a message that writes a few bytes into each of a
// few pages copies a few KiB, not 64 KiB per page (that copy, and the garbage it left, was a
// tenth of a small update's time).
import { CanisterTrap, ErrorCode, invariant } from './errors.js';

export const WASM_PAGE = 65536;
/** 500 GiB, the IC's stable memory limit. */
export const MAX_STABLE_PAGES = (500 * 1024 * 1024 * 1024) / WASM_PAGE;
const ZERO_PAGE = new Uint8Array(WASM_PAGE);
/** Undo granularity inside a page no clone shares: the IC's 4 KiB OS page. */
export const UNDO_CHUNK = 4096;
const CHUNK_SHIFT = 12;
const CHUNKS_PER_PAGE = WASM_PAGE / UNDO_CHUNK;

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
  /** Pages whose arrays no clone (and no caller of page()) shares: written in place. */
  private readonly owned = new Set<number>();
  /** Pages the current execution replaced by a fresh copy: the array each had before (undefined: absent). */
  private readonly undoPages = new Map<number, Uint8Array | undefined>();
  /** Chunks of owned pages the current execution changed in place: their bytes before (key: page × 16 + chunk). */
  private readonly undoChunks = new Map<number, Uint8Array>();
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
    invariant(this.undoPages.size === 0 && this.undoChunks.size === 0, 'StableMemory.clone during an execution');
    this.owned.clear(); // every page is now shared with the clone
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
    if (data.length === 0) return;
    const inPage = offset % WASM_PAGE;
    if (inPage + data.length <= WASM_PAGE) {
      this.writeSpan((offset - inPage) / WASM_PAGE, inPage, data);
      return;
    }
    forEachPageSpan(offset, data.length, (page, inPage, done, n) => this.writeSpan(page, inPage, data.subarray(done, done + n)));
  }

  /** Ends an execution keeping its writes. */
  commit(): void {
    this.undoPages.clear();
    this.undoChunks.clear();
    this.sizeBefore = this.sizePages;
  }

  /** Ends an execution discarding its writes and growth. */
  rollback(): void {
    for (const [page, before] of this.undoPages) {
      if (before) this.pages.set(page, before);
      else this.pages.delete(page);
      this.owned.delete(page); // the array put back may be shared
    }
    // Chunks last: they belong to the arrays the pages had before this execution.
    for (const [key, before] of this.undoChunks) this.pages.get(Math.floor(key / CHUNKS_PER_PAGE))!.set(before, (key % CHUNKS_PER_PAGE) * UNDO_CHUNK);
    this.undoPages.clear();
    this.undoChunks.clear();
    this.sizePages = this.sizeBefore;
  }

  /** Whole pages for snapshot download and tests; absent pages are zero. The caller may keep the array: it is not written in place again. */
  page(index: number): Uint8Array {
    invariant(this.undoPages.size === 0 && this.undoChunks.size === 0, 'StableMemory.page during an execution');
    this.owned.delete(index);
    return this.pages.get(index) ?? ZERO_PAGE;
  }

  /** Writes `data` at `inPage` of one page, keeping what the undo log needs to take it back. */
  private writeSpan(page: number, inPage: number, data: Uint8Array): void {
    const current = this.pages.get(page);
    if (current !== undefined && this.undoPages.has(page)) return current.set(data, inPage); // replaced in this execution: restorable whole
    if (current === undefined || !this.owned.has(page)) {
      this.undoPages.set(page, current);
      const copy = current ? current.slice() : new Uint8Array(WASM_PAGE);
      copy.set(data, inPage);
      this.pages.set(page, copy);
      this.owned.add(page);
      return;
    }
    const last = (inPage + data.length - 1) >>> CHUNK_SHIFT;
    for (let chunk = inPage >>> CHUNK_SHIFT; chunk <= last; chunk++) {
      const key = page * CHUNKS_PER_PAGE + chunk;
      if (!this.undoChunks.has(key)) this.undoChunks.set(key, current.slice(chunk * UNDO_CHUNK, (chunk + 1) * UNDO_CHUNK));
    }
    current.set(data, inPage);
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

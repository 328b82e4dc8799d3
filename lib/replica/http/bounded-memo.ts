// A memo of what the HTTP interface computes per request but sees again and again (parsed keys and
// principals, self-authenticating ids, hashes of request field names, signatures of a state
// already signed), holding at most `limit` entries and forgetting the oldest first: it never
// grows with the number of clients.
import { invariant } from '../errors.js';

export class BoundedMemo<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(private readonly limit: number) {
    invariant(Number.isInteger(limit) && limit >= 1, `BoundedMemo needs a limit of at least 1, got ${limit}`);
  }

  /** The value remembered for `key`, or `compute()` remembered (a throw remembers nothing). */
  get(key: K, compute: () => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = compute();
      if (this.#entries.size >= this.limit) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, value);
    }
    return value;
  }
}

/**
 * Collects bound parameters while a WHERE clause is built: every value goes through `bind`,
 * which returns a `{pN:Type}` placeholder, so no request value is ever spliced into SQL.
 * @module
 */

/** A growing set of `{name:Type}` parameters. */
export class SqlParams {
  readonly values: Record<string, unknown> = {};
  #next = 0;
  readonly #prefix: string;

  constructor(prefix = 'p') {
    this.#prefix = prefix;
  }

  /** Binds `value` as ClickHouse type `type` and returns its placeholder. */
  bind(value: unknown, type: string): string {
    const name = `${this.#prefix}${this.#next++}`;
    this.values[name] = typeof value === 'bigint' ? value.toString() : value;
    return `{${name}:${type}}`;
  }
}

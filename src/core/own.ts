// Lookups in the gateway's own tables by a key that came from outside (a card token, an event type,
// a parameter's name): own keys only. A plain object also answers `constructor`, `toString` or
// `__proto__` from its prototype, which read as a table entry (a function) and crashed the caller.

/** The entry of `table` under `key`, or undefined when the table has no such key of its own. */
export function ownEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

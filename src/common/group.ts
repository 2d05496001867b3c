// Grouping into a Map of arrays, which ingestion and the wake-up queue each do by a key of their own.

/** Appends `value` to `groups`' array for `key`, starting one if there is none. */
export function appendTo<K, V>(groups: Map<K, V[]>, key: K, value: V): void {
  const values = groups.get(key);
  if (values) values.push(value);
  else groups.set(key, [value]);
}

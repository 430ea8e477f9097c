/**
 * Memoises an async lookup per key for `ttlMs`. Concurrent misses share one lookup (a burst of polls for one
 * app makes one query, not one each); a failed lookup is not kept, so the next call tries again. At
 * `maxEntries` the oldest entry is dropped first (a Map iterates in insertion order).
 */
export function ttlCache<K, V>(load: (key: K) => Promise<V>, opts: { ttlMs: number; maxEntries: number; now?: () => number }): (key: K) => Promise<V> {
  const now = opts.now ?? Date.now;
  const entries = new Map<K, { value: Promise<V>; expiresAt: number }>();
  return (key) => {
    const t = now();
    const hit = entries.get(key);
    if (hit && hit.expiresAt > t) return hit.value;
    entries.delete(key);
    if (entries.size >= opts.maxEntries) entries.delete(entries.keys().next().value as K);
    const value = load(key);
    const entry = { value, expiresAt: t + opts.ttlMs };
    entries.set(key, entry);
    value.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    return value;
  };
}

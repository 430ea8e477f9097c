import { ttlCache } from '../../app/ttl-cache';

test('one lookup per key per ttl, shared by concurrent callers; a new lookup once it expires', async () => {
  let t = 0;
  const calls: string[] = [];
  const cached = ttlCache(async (k: string) => (calls.push(k), `${k}@${t}`), { ttlMs: 1000, maxEntries: 10, now: () => t });
  expect(await Promise.all([cached('a'), cached('a'), cached('b')])).toEqual(['a@0', 'a@0', 'b@0']);
  t = 999;
  expect(await cached('a')).toBe('a@0');
  t = 1000;
  expect(await cached('a')).toBe('a@1000');
  expect(calls).toEqual(['a', 'b', 'a']);
});

test('a failed lookup is not kept: the next call looks up again', async () => {
  let fail = true;
  const cached = ttlCache(async (k: string) => {
    if (fail) throw new Error('db down');
    return k;
  }, { ttlMs: 60_000, maxEntries: 10 });
  await expect(cached('a')).rejects.toThrow('db down');
  fail = false;
  expect(await cached('a')).toBe('a');
});

test('at maxEntries the oldest key is dropped first', async () => {
  let n = 0;
  const cached = ttlCache(async (k: string) => `${k}${++n}`, { ttlMs: 60_000, maxEntries: 2 });
  await cached('a');
  await cached('b');
  await cached('c'); // drops 'a'
  expect(await cached('b')).toBe('b2');
  expect(await cached('a')).toBe('a4');
});

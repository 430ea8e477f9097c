/** The bench's reading of Prometheus exposition text: samples, sums, and a histogram's quantile between two scrapes. */
import { histogramDelta, histogramMean, histogramOf, histogramQuantile, parseExposition, sumOf } from '../../scripts/bench/prometheus';

const scrape = (b: [number, number, number], count: number, sum: number, extra = '') => `
# HELP wait_seconds Time waited
# TYPE wait_seconds histogram
wait_seconds_bucket{le="0.01"} ${b[0]}
wait_seconds_bucket{le="0.02"} ${b[1]}
wait_seconds_bucket{le="+Inf"} ${b[2]}
wait_seconds_sum ${sum}
wait_seconds_count ${count}
calls_total{op="query",provider="a"} 3
calls_total{op="query",provider="b"} 4
calls_total{op="close",provider="a"} 100
${extra}`;

test('samples keep their labels, escaped quotes and infinities', () => {
  const s = parseExposition('# TYPE x gauge\nx{a="q\\"uote",b="2"} 1.5\ny +Inf\n\nz{le="+Inf"} 7\n');
  expect(s).toEqual([
    { name: 'x', labels: { a: 'q"uote', b: '2' }, value: 1.5 },
    { name: 'y', labels: {}, value: Infinity },
    { name: 'z', labels: { le: '+Inf' }, value: 7 },
  ]);
});

test('a counter is summed over the series whose labels match', () => {
  const s = parseExposition(scrape([0, 0, 0], 0, 0));
  expect(sumOf(s, 'calls_total', { op: 'query' })).toBe(7);
  expect(sumOf(s, 'calls_total', { op: 'query', provider: 'b' })).toBe(4);
  expect(sumOf(s, 'calls_total')).toBe(107);
  expect(sumOf(s, 'absent_total')).toBe(0);
});

test('the quantile of what was observed between two scrapes interpolates inside its bucket', () => {
  const before = histogramOf(parseExposition(scrape([5, 5, 5], 5, 0.02)), 'wait_seconds');
  const after = histogramOf(parseExposition(scrape([10, 20, 25], 25, 0.52)), 'wait_seconds');
  const d = histogramDelta(before, after);
  // Between the scrapes: 5 at ≤ 10 ms, 10 in (10, 20] ms, 5 above 20 ms.
  expect([...d.buckets.entries()]).toEqual([
    [0.01, 5],
    [0.02, 15],
    [Infinity, 20],
  ]);
  expect(histogramQuantile(0.25, d)).toBeCloseTo(0.01); // rank 5: the top of the first bucket
  expect(histogramQuantile(0.5, d)).toBeCloseTo(0.015); // rank 10: halfway through (10, 20] ms
  expect(histogramQuantile(0.99, d)).toBe(0.02); // in +Inf: the highest finite bound
  expect(histogramMean(d)).toBeCloseTo(0.5 / 20);
});

test('nothing observed has no quantile and no mean', () => {
  const same = histogramOf(parseExposition(scrape([5, 5, 5], 5, 0.02)), 'wait_seconds');
  const d = histogramDelta(same, same);
  expect(histogramQuantile(0.99, d)).toBeNull();
  expect(histogramMean(d)).toBeNull();
  expect(histogramQuantile(0.5, histogramOf([], 'wait_seconds'))).toBeNull();
});

test('series of a histogram are summed by bucket across the labels not matched on', () => {
  const text = 'h_bucket{q="a",le="1"} 1\nh_bucket{q="a",le="+Inf"} 2\nh_bucket{q="b",le="1"} 3\nh_bucket{q="b",le="+Inf"} 3\nh_count{q="a"} 2\nh_count{q="b"} 3\nh_sum{q="a"} 4\nh_sum{q="b"} 1\n';
  const all = histogramOf(parseExposition(text), 'h');
  expect([...all.buckets.entries()]).toEqual([
    [1, 4],
    [Infinity, 5],
  ]);
  expect([all.count, all.sum]).toEqual([5, 5]);
  expect(histogramOf(parseExposition(text), 'h', { q: 'b' }).count).toBe(3);
});

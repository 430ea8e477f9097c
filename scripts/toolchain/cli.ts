/**
 * `npm run toolchain [-- measure] [-- temporal-server]`: obtains (and optionally measures) the Temporal servers ahead
 * of time; `temporal-server` also builds the server on PostgreSQL (the e2e test and BENCH_TEMPORAL=cluster use it).
 */
import { ensureTemporalCli, ensureTemporalServer, ensureTestServer, measureTestServerStart } from '.';

async function main() {
  const log = (l: string) => console.log(`[toolchain] ${l}`);
  const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
  const t0 = Date.now();
  const cli = await ensureTemporalCli(log);
  log(`Temporal CLI: ${cli.type === 'existing-path' ? cli.path : 'SDK download'} (${seconds(t0)} s)`);
  const t1 = Date.now();
  const ts = await ensureTestServer(log);
  log(`time-skipping test server: ${ts.path} (${seconds(t1)} s)`);
  if (process.argv.includes('temporal-server')) {
    const t2 = Date.now();
    log(`temporal-server: ${(await ensureTemporalServer(log)).server} (${seconds(t2)} s)`);
  }
  log(`total ${seconds(t0)} s`);
  if (process.argv.includes('measure')) log(`test server ready after (ms): ${(await measureTestServerStart(5)).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

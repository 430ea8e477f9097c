export default async function globalTeardown(): Promise<void> {
  const stops = (globalThis as { __cashierDeskStops?: Array<() => Promise<void>> }).__cashierDeskStops ?? [];
  for (const stop of stops.reverse()) await stop().catch((e) => process.stderr.write(`[test teardown] ${String(e)}\n`));
}

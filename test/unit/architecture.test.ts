/**
 * The structural rules of scripts/lib/architecture.ts hold for the tree, and each rule fires on a tree that
 * breaks it (so a passing check means something).
 */
import path from 'node:path';
import { checkArchitecture, findCycles, readSources, type SourceFile } from '../../scripts/lib/architecture';

const source = (file: string, imports: string[] = [], packages: string[] = [], text = ''): SourceFile => ({ file, imports, packages, text });

test('the tree has no import cycle, uses the Temporal client only in temporal/ and knex only in db/', () => {
  const sources = readSources(path.resolve(__dirname, '..', '..'));
  expect(sources.length).toBeGreaterThan(80);
  expect(checkArchitecture(sources)).toEqual([]);
});

test('cycles between files and between folders are found, acyclic graphs pass', () => {
  const graph = (pairs: Array<[string, string[]]>) => new Map(pairs.map(([k, v]) => [k, new Set(v)]));
  expect(findCycles(graph([['a', ['b']], ['b', ['c']], ['c', []]]))).toEqual([]);
  expect(findCycles(graph([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
  expect(findCycles(graph([['a', ['a']]]))).toEqual([['a']]);

  const problems = checkArchitecture([
    source('http/app.ts', ['http/console/index.ts']),
    source('http/console/index.ts', ['app/orders.ts']),
    source('app/orders.ts', ['http/envelope.ts']),
    source('http/envelope.ts'),
  ]);
  expect(problems).toEqual([expect.stringMatching(/^import cycle between folders: app ↔ http \(e\.g\. .*app\/orders\.ts → http\/envelope\.ts/)]);
  expect(checkArchitecture([source('a/x.ts', ['a/y.ts']), source('a/y.ts', ['a/x.ts'])])).toEqual(['import cycle between files: a/x.ts ↔ a/y.ts']);
});

test('Temporal client calls outside temporal/, knex outside db/ and hand-built workflow ids are refused', () => {
  expect(
    checkArchitecture([
      source('app/orders.ts', [], ['@temporalio/client']),
      source('temporal/client.ts', [], ['@temporalio/client']),
      source('http/pages.ts', [], ['knex'], "await db('orders').where({ id })"),
      source('db/queries/orders.ts', [], ['knex'], "await db('orders').where({ id })"),
      source('app/refunds.ts', [], [], 'const id = `refund:${appId}:${outRefundNo}`;'),
    ]),
  ).toEqual([
    'app/orders.ts: only temporal/ may use @temporalio/client (call temporal/client.ts)',
    'http/pages.ts: only db/ may use knex or pg',
    'http/pages.ts: a knex query outside db/ (put it in db/queries/)',
    'app/refunds.ts: builds a workflow id (use temporal/workflow-ids.ts)',
  ]);
});

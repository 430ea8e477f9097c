/** The ESLint rules that keep workflows/ deterministic actually fire (and leave legitimate code alone). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Lints `code` as if it were `file`, with the project's own config (the ESLint CLI: Jest cannot load ESM configs). */
async function lintAs(file: string, code: string): Promise<string[]> {
  const out = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--stdin', '--stdin-filename', file, '--format', 'json'], { cwd: ROOT, input: code, encoding: 'utf8' });
  const [result] = JSON.parse(out.stdout) as Array<{ messages: Array<{ ruleId: string | null; message: string }> }>;
  return result.messages.map((m) => m.ruleId ?? m.message);
}

test.each([
  ['a Node built-in', "import fs from 'node:fs';\nexport const x = fs;\n"],
  ['I/O via fetch', 'export async function f() { return fetch("http://x"); }\n'],
  ['environment access', 'export const env = process.env.X;\n'],
  ['the database layer', "import { createDb } from '../db/connection';\nexport const x = createDb;\n"],
  ['a value import of activities', "import { createActivities } from '../activities';\nexport const x = createActivities;\n"],
  ['an AsyncLocalStorage (a promise-hook entry per cached workflow)', "import { AsyncLocalStorage } from '@temporalio/workflow';\nexport const s = new AsyncLocalStorage<string>();\n"],
  ['the sandbox’s global AsyncLocalStorage', 'export const s = new AsyncLocalStorage();\n'],
])('workflows/ rejects %s', async (_what, code) => {
  const rules = await lintAs('workflows/lint-probe.ts', code);
  expect(rules.some((r) => r === 'no-restricted-imports' || r === 'no-restricted-globals')).toBe(true);
});

test('workflows/ accepts @temporalio/workflow, pure modules and type-only activity imports', async () => {
  const code = "import { sleep } from '@temporalio/workflow';\nimport type { Activities } from '../activities';\nimport { isFinal } from '../domain/order';\nexport async function w(a: Activities) { await sleep(1); return [a, isFinal]; }\n";
  expect(await lintAs('workflows/lint-probe.ts', code)).toEqual([]);
});

test('the same code is fine outside workflows/', async () => {
  expect(await lintAs('activities/lint-probe.ts', "import fs from 'node:fs';\nexport const x = fs;\n")).toEqual([]);
});

/**
 * Committed workflow histories are append-only: a deployed order may run for 24 hours on old code, so a
 * change to workflow code must keep replaying them (patched()/deprecatePatch() or a new workflow type) and
 * add a history of the new path beside them. This fails when a committed history is edited, renamed or
 * deleted, in a commit since the rule was introduced or in the working tree.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const dir = 'test/replay/histories';
/** The last commit before the rule: its histories are the first ones under it. */
const RULE_BASE = '6e059bd';
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

test('no committed history was modified, renamed or deleted since the append-only rule', () => {
  const atBase = git('ls-tree', '--name-only', `${RULE_BASE}:${dir}`).split('\n').filter(Boolean);
  expect(atBase).toEqual(['expired-closed.json', 'notify-exhausted.json', 'paid-notified-dev-server.json']);
  const inCommits = git('log', '--format=%h %s', '--diff-filter=MDR', `${RULE_BASE}..HEAD`, '--', dir);
  const inWorkingTree = git('diff', '--name-status', '--diff-filter=MDR', 'HEAD', '--', dir);
  expect({ inCommits, inWorkingTree }).toEqual({ inCommits: '', inWorkingTree: '' });
});

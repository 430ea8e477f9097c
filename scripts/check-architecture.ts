/** `npm run check:architecture`: fails with a list when a structural rule (scripts/lib/architecture.ts) is broken. */
import path from 'node:path';
import { checkArchitecture, readSources } from './lib/architecture';

const problems = checkArchitecture(readSources(path.resolve(__dirname, '..')));
if (problems.length) {
  for (const p of problems) console.error(`✗ ${p}`);
  process.exit(1);
}
console.log('architecture: no import cycles; Temporal client only in temporal/; knex only in db/');

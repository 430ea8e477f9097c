/**
 * The project's structural rules, checked over the import graph of every non-test source file (type-only
 * imports included): no import cycle between files or between top-level folders; Temporal's client only in
 * temporal/; knex, pg and SQL only in db/. `npm run lint` runs it (scripts/check-architecture.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface SourceFile {
  /** Path relative to the root, with forward slashes. */
  file: string;
  /** Relative paths of the project files it imports. */
  imports: string[];
  /** Package specifiers it imports (e.g. "@temporalio/client"). */
  packages: string[];
  text: string;
}

const SKIP = new Set(['node_modules', 'dist', 'test', 'coverage', '.data', '.git']);

function listSources(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir))) {
    if (name.startsWith('.') || SKIP.has(name)) continue;
    const rel = dir ? `${dir}/${name}` : name;
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...listSources(root, rel));
    else if (rel.endsWith('.ts') && !rel.endsWith('.d.ts') && dir) out.push(rel);
  }
  return out;
}

function resolveImport(root: string, from: string, spec: string): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) {
    try {
      if (statSync(path.join(root, candidate)).isFile()) return candidate;
    } catch {
      // not this candidate
    }
  }
  return null;
}

export function readSources(root: string): SourceFile[] {
  return listSources(root).map((file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    const specs = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    const imports = specs.filter((s) => s.startsWith('.')).map((s) => resolveImport(root, file, s));
    return { file, text, imports: imports.filter((f): f is string => f !== null), packages: specs.filter((s) => !s.startsWith('.')) };
  });
}

/** Strongly connected components with more than one member (or a self-loop): the import cycles. */
export function findCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || edges.get(v)?.has(v)) cycles.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

const topFolder = (file: string) => file.split('/')[0];

/** Every rule violation, as readable lines (empty when the tree is clean). */
export function checkArchitecture(sources: SourceFile[]): string[] {
  const problems: string[] = [];
  const fileEdges = new Map(sources.map((s) => [s.file, new Set(s.imports)]));
  for (const c of findCycles(fileEdges)) problems.push(`import cycle between files: ${c.join(' ↔ ')}`);
  const folderEdges = new Map<string, Set<string>>();
  for (const s of sources) {
    const from = topFolder(s.file);
    if (!folderEdges.has(from)) folderEdges.set(from, new Set());
    for (const i of s.imports) if (topFolder(i) !== from) folderEdges.get(from)!.add(topFolder(i));
  }
  for (const c of findCycles(folderEdges)) {
    const witnesses = sources
      .flatMap((s) => s.imports.filter((i) => topFolder(i) !== topFolder(s.file) && c.includes(topFolder(s.file)) && c.includes(topFolder(i))).map((i) => `${s.file} → ${i}`))
      .slice(0, 6);
    problems.push(`import cycle between folders: ${c.join(' ↔ ')} (e.g. ${witnesses.join(', ')})`);
  }
  for (const s of sources) {
    const folder = topFolder(s.file);
    if (folder !== 'temporal' && s.packages.includes('@temporalio/client')) problems.push(`${s.file}: only temporal/ may use @temporalio/client (call temporal/client.ts)`);
    if (folder !== 'db' && (s.packages.includes('knex') || s.packages.includes('pg'))) problems.push(`${s.file}: only db/ may use knex or pg`);
    if (folder !== 'db' && /\b(?:db|trx|knex)\s*(?:<[^>]*>)?\(\s*['"`]/.test(s.text)) problems.push(`${s.file}: a knex query outside db/ (put it in db/queries/)`);
    if (folder !== 'temporal' && /`(?:payment|binding|renotify|refund|transfer|reconciliation):\$\{/.test(s.text)) problems.push(`${s.file}: builds a workflow id (use temporal/workflow-ids.ts)`);
  }
  return problems;
}

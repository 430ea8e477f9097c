/**
 * Child processes that cannot outlive us. A test run or `npm start` killed with SIGKILL gets no chance to
 * clean up, so every long-lived server is tethered: a tiny shell watchdog stops it once our PID is gone.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

const WATCHDOG = `
parent="$1"; shift
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill -TERM $child 2>/dev/null
wait $child
`;

/**
 * Spawns cmd under a watchdog; SIGTERM to the returned process stops cmd gracefully too. Each child gets its own
 * process group: Ctrl-C then reaches only us, and we stop the children in our order (the API drains before the
 * worker, both before PostgreSQL and Temporal) instead of the terminal signalling all of them at once.
 */
export function spawnTethered(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('sh', ['-c', WATCHDOG, 'tether', String(process.pid), cmd, ...args], { ...opts, detached: true });
}

/** SIGTERM, then waits for the exit (the watchdog waits for cmd); past `timeoutMs` SIGKILLs the whole group. */
export function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      // Killing only the watchdog would orphan cmd, still running; the group holds both.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A tethered Node.js child: its tether shell (`child`) and the node process itself (`pid`). */
export interface NodeProcess {
  name: string;
  child: ChildProcess;
  /** The node process itself (the child is its tether shell): the one to SIGKILL for a crash. */
  pid: number;
}

/** The PID of the process the tether shell started (its only child). */
export async function tetheredPid(child: ChildProcess): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const kids = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
    const pid = Number(kids.trim().split(/\s+/)[0]);
    if (pid > 0) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no process under tether ${child.pid}`);
}

/** Runs a TypeScript entry point (through tsx) as a tethered child; stderr goes to `log`, stdout stays readable. */
export async function spawnNodeScript(o: {
  name: string;
  script: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  log: (l: string) => void;
  nodeArgs?: string[];
  cwd?: string;
  /**
   * Also log stdout line by line (a service's JSON log). Whoever leaves this off reads stdout itself (`firstLine`),
   * or a full pipe would block the child.
   */
  logStdout?: boolean;
}): Promise<NodeProcess> {
  const child = spawnTethered(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', o.script, ...(o.args ?? [])], {
    cwd: o.cwd,
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (c: Buffer) => o.log(`${o.name}: ${c.toString().trimEnd().slice(0, 2000)}`));
  if (o.logStdout) {
    child.stdout?.on('data', (c: Buffer) => {
      for (const line of c.toString().split('\n')) if (line.trim()) o.log(`${o.name}: ${line.slice(0, 1000)}`);
    });
  }
  return { name: o.name, child, pid: await tetheredPid(child) };
}

/** The first stdout line of a child (its ready signal or JSON), or its exit as an error. */
export function firstLine(child: ChildProcess, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('child did not report ready')), timeoutMs);
    rl.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code})`)));
  });
}

/**
 * Child processes that cannot outlive us. A test run or `npm start` killed with SIGKILL gets no chance to
 * clean up, so every long-lived server is tethered: a tiny shell watchdog stops it once our PID is gone.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

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

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

/** Spawns cmd under a watchdog; SIGTERM to the returned process stops cmd gracefully too. */
export function spawnTethered(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('sh', ['-c', WATCHDOG, 'tether', String(process.pid), cmd, ...args], opts);
}

export function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Real stressor processes for the local platform's resource faults. Each is a detached Node process (it
 * outlives the worker that started it, exactly like a fault outlives a crashed injector) carrying a
 * marker argument, so anyone can find it by scanning /proc, and a dead-man switch: it exits on its own
 * at `expiresAt` even if nobody ever reverts it.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CPU_SCRIPT = `
const [expiresAt, load] = [Date.parse(process.argv[1]), Number(process.argv[2])];
// An unreadable time is no reason to live forever: at most 24 h, whatever the argument says.
const stopAt = Math.min(Number.isFinite(expiresAt) ? expiresAt : 0, Date.now() + 24 * 3600e3);
(function spin() {
  const now = Date.now();
  if (now >= stopAt) process.exit(0);
  const busyUntil = now + load; // load ms busy out of every 100 ms
  while (Date.now() < busyUntil) {}
  setTimeout(spin, 100 - load);
})();
`;

const MEM_SCRIPT = `
const [expiresAt, mb] = [Date.parse(process.argv[1]), Number(process.argv[2])];
const held = [];
for (let i = 0; i < mb; i++) { const b = Buffer.allocUnsafe(1 << 20); b.fill(i & 255); held.push(b); }
setTimeout(() => process.exit(0), Number.isFinite(expiresAt) ? Math.max(0, Math.min(expiresAt - Date.now(), 24 * 3600e3)) : 0);
setInterval(() => { for (const b of held) b[0]++; }, 1000);
`;

export type StressKind = 'cpu' | 'memory';

export function markerFor(key: string): string {
  return `--tempest-stressor=${key}`;
}

/** Start `count` detached stressors; returns their pids. */
export function startStressors(kind: StressKind, key: string, count: number, expiresAt: string, amount: number): number[] {
  const pids: number[] = [];
  for (let i = 0; i < count; i++) {
    const script = kind === 'cpu' ? CPU_SCRIPT : MEM_SCRIPT;
    const args = kind === 'memory' ? ['--max-old-space-size=64'] : [];
    const child = spawn(process.execPath, [...args, '-e', script, expiresAt, String(amount), markerFor(key)], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    if (child.pid) pids.push(child.pid);
  }
  return pids;
}

/** Live pids whose command line carries this key's marker (scans /proc: finds them whoever started them). */
export function findStressors(key: string): number[] {
  const marker = markerFor(key);
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.split('\0').includes(marker) && !isZombie(Number(d))) out.push(Number(d));
    } catch {
      /* process went away */
    }
  }
  return out;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export function killStressors(key: string): number[] {
  const pids = findStressors(key);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return pids;
}

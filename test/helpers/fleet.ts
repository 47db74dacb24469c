/** Start a real local fleet (scripts/fleet/fleet.ts) on free loopback ports for a test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './temporal.js';
import { FleetClient } from '../../activities/platform/local.js';

export const TSX_LOADER = `file://${ROOT}node_modules/tsx/dist/loader.mjs`;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePorts(count: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let j = 0; j < count && ok; j++) ok = await canBind(base + j);
    if (ok) return base;
  }
  throw new Error('no free port range');
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Running = exists and is not a zombie (an orphan killed here may wait for a PID 1 that never reaps it). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export interface TestFleet {
  name: string;
  balancerUrl: string;
  controlUrl: string;
  client: FleetClient;
  stateDir: string;
  stop(): Promise<void>;
}

export async function startFleet(opts: { name?: string; replicas?: number; restartDelayMs?: number } = {}): Promise<TestFleet> {
  const replicas = opts.replicas ?? 3;
  const base = await freePorts(replicas + 2);
  const name = opts.name ?? 'api-gateway';
  const stateDir = mkdtempSync(join(tmpdir(), 'tempest-fleet-'));
  const args = [
    '--no-warnings', '--import', TSX_LOADER, join(ROOT, 'scripts/fleet/fleet.ts'),
    '--name', name, '--replicas', String(replicas), '--port', String(base), '--control-port', String(base + 1),
    '--base-replica-port', String(base + 2), '--state-dir', stateDir, '--restart-delay-ms', String(opts.restartDelayMs ?? 500),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const controlUrl = `http://127.0.0.1:${base + 1}`;
  const client = new FleetClient(controlUrl);
  await waitFor('fleet ready', async () => {
    const o = await client.owner();
    return o.ready === replicas && o.desired === replicas;
  }, 60_000, 300);
  return {
    name,
    balancerUrl: `http://127.0.0.1:${base}`,
    controlUrl,
    client,
    stateDir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * The Dockerfile, kept honest without a container engine: everything its final stage COPYs is taken from the
 * checkout's tracked files into an empty directory, the production dependencies are installed there as its first
 * stage does (`npm ci --omit=dev`), and the entrypoint runs from there: `--help`, `validate`, a worker that bundles
 * its workflows and reaches Temporal, a controller that reaches its Lease on the real API server as its own
 * ServiceAccount. A source file the image lacks, or a runtime import of a dev dependency, fails here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT } from '../../helpers/temporal.js';
import { ADMIN_KUBECONFIG, cleanupTestFiles, saKubeconfig, seededCluster } from '../../helpers/k8s.js';
import { killWorkerProcesses, outputOf, startTempestProcess, sigkill } from '../../helpers/worker-process.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
/** The final stage's COPY sources from the build context (not --from another stage). */
const copied = [...finalStage.matchAll(/^COPY (?!--from)(.+?) (\S+)$/gm)].flatMap((m) => m[1].split(/\s+/));
const app = join(mkdtempSync(join(tmpdir(), 'tempest-image-')), 'app');
const tempest = (...args: string[]) => spawnSync(join(app, 'bin/tempest'), args, { cwd: app, encoding: 'utf8', timeout: 60_000 });

beforeAll(() => {
  mkdirSync(app, { recursive: true });
  // The first stage: package.json + package-lock.json, npm ci --omit=dev.
  expect(dockerfile).toMatch(/COPY package\.json package-lock\.json \.\/\nRUN npm ci --omit=dev/);
  for (const src of copied) {
    const tracked = execFileSync('git', ['ls-files', '--', src], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    expect({ src, tracked: tracked.length > 0 }).toEqual({ src, tracked: true });
    for (const f of tracked) {
      mkdirSync(dirname(join(app, f)), { recursive: true });
      cpSync(join(ROOT, f), join(app, f));
    }
  }
  execFileSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, stdio: 'pipe', timeout: 300_000 });
}, 400_000);

afterAll(() => {
  killWorkerProcesses();
  cleanupTestFiles();
  rmSync(dirname(app), { recursive: true, force: true });
});

test('the image has the sources, production dependencies only, and no test or dev file', () => {
  expect(copied).toEqual(
    expect.arrayContaining(['bin', 'client', 'config', 'activities', 'workflows', 'workers', 'package.json', 'package-lock.json', 'tsconfig.json']),
  );
  // Dev tools are not installed (type packages may be: production packages depend on @types/node).
  const devTools = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies).filter((d) => !d.startsWith('@types/'));
  expect(devTools).toEqual(expect.arrayContaining(['typescript', 'jest', 'ts-jest']));
  for (const dev of devTools) expect({ dev, installed: existsSync(join(app, 'node_modules', dev)) }).toEqual({ dev, installed: false });
  expect(existsSync(join(app, 'node_modules/tsx'))).toBe(true);
  expect(existsSync(join(app, 'test'))).toBe(false);
  expect(dockerfile).toMatch(/^USER 10001:10001$/m);
  expect(dockerfile).toMatch(/^ENTRYPOINT \["\/app\/bin\/tempest"\]$/m);
  // Every stage on the Node the tests run on.
  const froms = dockerfile.match(/^FROM node:\S+/gm)!;
  expect(froms.length).toBeGreaterThanOrEqual(2);
  for (const f of froms) expect(f).toBe(`FROM node:${process.versions.node}-bookworm-slim`);
});

test('the entrypoint from the image layout: --help names every command, validate reads an engine', () => {
  const help = tempest('--help');
  expect(help.status).toBe(0);
  for (const c of ['validate', 'run', 'status', 'abort', 'results', 'schedule', 'cleanup', 'worker', 'controller'])
    expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  const v = tempest('validate', join(ROOT, 'examples/engines/api-gateway-chaos.yaml'));
  expect(v.stdout).toMatch(/ChaosEngine api-gateway-chaos -> deployment footanalytics\/app.kubernetes.io\/name=api-gateway/);
  expect(v.status).toBe(0);
});

test('a worker from the image layout bundles its workflows and reaches Temporal; a controller reaches its Lease as its ServiceAccount', async () => {
  await seededCluster();
  const kubectl = join(
    spawnSync('bash', [join(ROOT, 'scripts/k8s-build'), '--print-bin-dirs'], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .find((d) => d.includes('/kubectl-'))!,
    'kubectl',
  );
  expect(
    spawnSync(
      kubectl,
      ['--kubeconfig', ADMIN_KUBECONFIG, 'apply', '-f', join(ROOT, 'deploy/crds/litmuschaos.io.yaml'), '-f', join(ROOT, 'deploy/controller-rbac.yaml')],
      { encoding: 'utf8' },
    ).status,
  ).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), 'tempest-image-cfg-'));
  const cfg = join(dir, 'tempest.yaml');
  const leaseName = `tempest-image-${Math.random().toString(36).slice(2, 8)}`;
  writeFileSync(
    cfg,
    stringify({
      temporal: { address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', taskQueue: `image-${Math.random().toString(36).slice(2, 8)}` },
      metrics: { port: 0 },
      reconciler: { enabled: false },
      state: { dir: join(dir, 'state') },
      reports: { dir: join(dir, 'reports') },
      controller: { leaseName, leaseDuration: 4 },
    }),
  );
  const bin = join(app, 'bin/tempest');
  const worker = await startTempestProcess(['--config', cfg, 'worker'], 'worker ready', {}, bin);
  expect(outputOf(worker)).toMatch(/worker ready: task queue image-/);
  await sigkill(worker);
  const kc = await saKubeconfig('default', undefined, { namespace: 'tempest-system', name: 'tempest-controller' });
  const ctl = await startTempestProcess(['--config', cfg, '--kubeconfig', kc, 'controller', '--identity', 'image-test'], 'leading', {}, bin);
  expect(outputOf(ctl)).toMatch(new RegExp(`leader election: tempest-system/${leaseName} acquired \\(new Lease\\) by image-test`));
  await sigkill(ctl);
}, 180_000);

/**
 * docker-compose.yml cannot run here (no Docker engine); this keeps it true to what can be checked: it builds the
 * Dockerfile's demo stage and installs nothing at container start, its Temporal is the release the tests run, the
 * files it mounts exist, its Grafana datasource names a host that serves Prometheus on that network, its
 * Prometheus loads the SLO rules, and the worker's config is a valid policy whose writable dirs are on a volume.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadTempestConfig } from '../../config/tempest-config.js';
import { ROOT } from '../helpers/temporal.js';

type Service = {
  image?: string;
  build?: { context: string; target: string };
  command?: string[] | string;
  entrypoint?: string[];
  ports?: string[];
  network_mode?: string;
  volumes?: string[];
};
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const services = compose.services;

test("Tempest's containers run the Dockerfile's demo image: nothing is installed at container start", () => {
  for (const name of ['fleet', 'worker', 'cli']) {
    expect(services[name].build).toEqual({ context: '.', target: 'demo' });
    expect(JSON.stringify([services[name].command ?? '', services[name].entrypoint ?? ''])).not.toMatch(/npm (ci|install)/);
  }
  expect(dockerfile).toMatch(/^FROM \S+ AS demo$/m);
  // What the fleet's entrypoint runs and the config the containers read are in that stage.
  const demo = dockerfile.slice(dockerfile.indexOf(' AS demo'), dockerfile.lastIndexOf('\nFROM '));
  for (const src of ['scripts/fleet', 'examples', 'deploy/compose', 'bin', 'workers']) expect(demo).toMatch(new RegExp(`^COPY ${src} `, 'm'));
  expect(services.fleet.entrypoint).toEqual(['node', '--import', 'tsx', 'scripts/fleet/fleet.ts']);
});

test('its Temporal is the CLI release the tests run (scripts/setup)', () => {
  const version = /^TEMPORAL_BIN_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'scripts/setup'), 'utf8'))![1];
  expect(services.temporal.image).toBe(`temporalio/temporal:${version}`);
});

test("Grafana's datasource names the host Prometheus serves on (Prometheus shares the fleet's network namespace)", () => {
  const ds = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as { datasources: Array<{ url: string }> };
  const url = new URL(ds.datasources[0].url);
  expect(services.prometheus.network_mode).toBe(`service:${url.hostname}`);
  expect(services[url.hostname].ports).toContain(`${url.port}:${url.port}`);
});

test('every file compose mounts exists; Prometheus loads the SLO rules it mounts', () => {
  for (const s of Object.values(services)) {
    for (const v of s.volumes ?? []) if (v.startsWith('./')) expect({ v, exists: existsSync(join(ROOT, v.split(':')[0])) }).toEqual({ v, exists: true });
  }
  const prom = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { rule_files: string[] };
  expect(prom.rule_files).toEqual(['slo-rules.yaml']);
  expect(services.prometheus.volumes).toContain('./deploy/prometheus/slo-rules.yaml:/etc/prometheus/slo-rules.yaml:ro');
});

test("the worker's config is a valid policy, and what it writes is on the worker's volume", () => {
  const cfg = loadTempestConfig(join(ROOT, 'deploy/compose/tempest.yaml'));
  const mount = services.worker.volumes!.map((v) => v.split(':')[1]);
  expect(mount).toContain('/app/.tempest');
  for (const d of [cfg.reports.dir, cfg.state.dir]) expect(d.startsWith('/app/.tempest/')).toBe(true);
  expect(dockerfile).toMatch(/mkdir -p \/app\/\.tempest && chown 10001:10001 \/app\/\.tempest/);
});

test('every COPY of the Dockerfile (both stages) survives .dockerignore: `docker build` finds what it copies', () => {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  /** Docker's rule: the last pattern that matches decides; `!` re-includes. Patterns here are paths or *.ext. */
  const ignored = (path: string) => {
    let out = false;
    for (const r of rules) {
      const neg = r.startsWith('!');
      const pat = neg ? r.slice(1) : r;
      const hit = pat.startsWith('*.') ? path.endsWith(pat.slice(1)) : path === pat || path.startsWith(`${pat}/`);
      if (hit) out = !neg;
    }
    return out;
  };
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+?) (\S+)$/gm)].flatMap((m) => m[1].split(/\s+/));
  expect(sources).toEqual(expect.arrayContaining(['scripts/fleet', 'examples', 'deploy/compose', 'bin', 'package-lock.json']));
  for (const src of sources) {
    expect({ src, ignored: ignored(src) }).toEqual({ src, ignored: false });
    expect({ src, exists: existsSync(join(ROOT, src)) }).toEqual({ src, exists: true });
  }
  // and the ignore file does keep the heavy and the private out
  for (const p of ['node_modules', '.git', '.tempest', 'test', 'deploy/helm']) expect({ p, ignored: ignored(p) }).toEqual({ p, ignored: true });
});

/** A tempest.yaml for a test: maps the seed's api-gateway onto a test fleet, on its own task queue. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadTempestConfig, type TempestConfig } from '../../config/tempest-config.js';
import type { TestFleet } from './fleet.js';

export function testConfig(fleet: TestFleet, over: Record<string, unknown> = {}): TempestConfig & { file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-cfg-'));
  const doc = {
    temporal: {
      address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: `it-${Math.random().toString(36).slice(2, 10)}`,
      searchAttributes: true,
    },
    platform: {
      driver: 'local',
      local: {
        targets: [{ namespace: 'footanalytics', selector: 'app.kubernetes.io/name=api-gateway', fleet: fleet.controlUrl }],
        urlRewrites: [
          { from: 'http://api-gateway.footanalytics.svc.cluster.local:4000', to: fleet.balancerUrl },
          { from: 'http://api-gateway.footanalytics:4000', to: fleet.balancerUrl },
        ],
      },
    },
    blastRadius: { allow: [{ namespace: 'footanalytics' }] },
    // the test fleets and servers live on loopback, as on the local platform
    probes: { allowLoopback: true },
    reports: { dir: join(dir, 'reports') },
    metrics: { port: 0 },
    ...over,
  };
  const file = join(dir, 'tempest.yaml');
  writeFileSync(file, stringify(doc));
  return loadTempestConfig(file) as TempestConfig & { file: string };
}

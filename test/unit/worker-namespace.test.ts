/**
 * The worker's own namespace: found from POD_NAMESPACE or the service account's namespace file, and protected in
 * every probe (cmdProbe `source`, k8sProbe) whatever the policy's `*` says — unless the operator lists it by its
 * exact name. The Kubernetes side (faults, execInPod, k8sProbe after discovery) runs against the real API server
 * in test/integration/k8s/probe-blast-radius.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProbeActivities, detectWorkerNamespace, type ProbeContext, type ProbeDeps, type ProbeOutcome } from '../../activities/probes/index.js';
import { sourceRefusal } from '../../activities/probes/cmd.js';
import { defaultPolicy, type Policy } from '../../config/policy.js';
import type { ProbeSpec } from '../../config/spec.js';

const dir = mkdtempSync(join(tmpdir(), 'tempest-worker-ns-'));
const saFile = (content: string) => {
  const f = join(dir, `namespace-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, content);
  return f;
};
const missing = join(dir, 'no-such-file');

describe('detectWorkerNamespace', () => {
  test('POD_NAMESPACE first, then the service account file; neither: undefined; garbage is ignored', () => {
    expect(detectWorkerNamespace({ POD_NAMESPACE: 'tempest-system' }, saFile('other'))).toBe('tempest-system');
    expect(detectWorkerNamespace({}, saFile('tempest-system\n'))).toBe('tempest-system');
    expect(detectWorkerNamespace({ POD_NAMESPACE: '' }, saFile('tempest-system'))).toBe('tempest-system');
    expect(detectWorkerNamespace({ POD_NAMESPACE: '../kube-system' }, saFile('tempest-system'))).toBe('tempest-system');
    expect(detectWorkerNamespace({}, missing)).toBeUndefined();
    expect(detectWorkerNamespace({}, saFile('Not A Namespace'))).toBeUndefined();
  });
});

describe('probes never reach the worker namespace through *', () => {
  const ctx: ProbeContext = { runId: 'r', phase: 'SOT', iteration: 0 };
  const star: Policy = { ...defaultPolicy('/etc/tempest.yaml'), blastRadius: { allow: [{ namespace: '*' }], protectedNamespaces: [] } };
  const exact: Policy = { ...star, blastRadius: { allow: [{ namespace: '*' }, { namespace: 'tempest-system' }], protectedNamespaces: [] } };
  const steal: ProbeSpec = {
    name: 'steal-token',
    type: 'cmdProbe',
    mode: 'SOT',
    runProperties: { probeTimeoutMs: 1000, intervalMs: 10, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false },
    cmd: {
      command: 'cat /var/run/secrets/kubernetes.io/serviceaccount/token',
      source: { namespace: 'tempest-system', pod: 'tempest-worker-0' },
      comparator: { type: 'string', criteria: 'contains', value: 'ey' },
    },
  };
  const run = (deps: ProbeDeps, calls: unknown[]) =>
    new MockActivityEnvironment().run(
      createProbeActivities({
        ...deps,
        execInPod: async (req) => {
          calls.push(req.source);
          return { stdout: 'eyJhbGciOi...', exitCode: 0 };
        },
      }).runProbe,
      steal,
      ctx,
    ) as Promise<ProbeOutcome>;

  test('an injected worker namespace: refused under *, nothing executed; listed by exact name: runs', async () => {
    const calls: unknown[] = [];
    const out = await run({ policy: star, workerNamespace: 'tempest-system' }, calls);
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 });
    expect(out.reason).toBe(
      "refused by the worker's policy: namespace tempest-system is the worker's own namespace: nothing may target it unless blastRadius.allow of /etc/tempest.yaml lists it by its exact name",
    );
    expect(calls).toEqual([]);
    expect(await run({ policy: exact, workerNamespace: 'tempest-system' }, calls)).toMatchObject({ status: 'Passed' });
    expect(calls).toHaveLength(1);
  });

  test('found from POD_NAMESPACE when not injected; null means none', async () => {
    const calls: unknown[] = [];
    const saved = process.env.POD_NAMESPACE;
    process.env.POD_NAMESPACE = 'tempest-system';
    try {
      expect(await run({ policy: star }, calls)).toMatchObject({
        status: 'Failed',
        failureKind: 'error',
        reason: expect.stringContaining("the worker's own namespace"),
      });
      expect(await run({ policy: star, workerNamespace: null }, calls)).toMatchObject({ status: 'Passed' });
    } finally {
      if (saved === undefined) delete process.env.POD_NAMESPACE;
      else process.env.POD_NAMESPACE = saved;
    }
    expect(calls).toHaveLength(1);
  });

  test('sourceRefusal: a selector-restricted namespace needs a contained source selector (a crafted request skips the loader)', () => {
    const p: Policy = { ...star, blastRadius: { allow: [{ namespace: 'footanalytics', selector: 'app=api' }], protectedNamespaces: [] } };
    expect(sourceRefusal({ namespace: 'footanalytics', labelSelector: 'app=db' }, { policy: p })).toBe(
      'source.labelSelector "app=db" selects pods outside the blast radius: blastRadius.allow of /etc/tempest.yaml allows in footanalytics only app=api',
    );
    expect(sourceRefusal({ namespace: 'footanalytics', labelSelector: 'app=api' }, { policy: p })).toBeNull();
    expect(sourceRefusal({ namespace: 'footanalytics', pod: 'db-0' }, { policy: p })).toBeNull(); // the platform checks its live labels
    expect(sourceRefusal({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' }, { policy: p })).toBe(
      'namespace kube-system is not in blastRadius.allow of /etc/tempest.yaml',
    );
  });
});

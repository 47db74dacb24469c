/**
 * The operator's policy as the pure checks see it (config/policy.ts) and as tempest.yaml declares it
 * (config/tempest-config.ts): blast radius with protected namespaces and selector containment, probe hosts,
 * paths, images, secrets by reference only.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError } from '../../config/errors.js';
import { loadTempestConfig, runPolicyView } from '../../config/tempest-config.js';
import {
  blastRadiusRefusal,
  defaultPolicy,
  hostRefusal,
  isPinnedImage,
  labelsInScope,
  namespaceAllowed,
  namespaceRefusal,
  namespaceScope,
  normalAbsolutePath,
  pathWithin,
  scopeText,
  selectorInScope,
  withWorkerNamespace,
  workerNamespaceRefusal,
  type Policy,
} from '../../config/policy.js';
import { parseLabelSelector } from '../../config/selector.js';

const policy = (allow: Policy['blastRadius']['allow'], protectedNamespaces: string[] = []): Policy => ({
  ...defaultPolicy('/etc/tempest.yaml'),
  blastRadius: { allow, protectedNamespaces },
});
const target = (namespace: string, labelSelector: string) => ({ namespace, labelSelector });

describe('blast radius', () => {
  const seed = target('footanalytics', 'app.kubernetes.io/name=api-gateway');

  test('allowed by namespace, by namespace + selector, by *', () => {
    expect(blastRadiusRefusal(policy([{ namespace: 'footanalytics' }]), seed)).toBeNull();
    expect(blastRadiusRefusal(policy([{ namespace: 'footanalytics', selector: 'app.kubernetes.io/name=api-gateway' }]), seed)).toBeNull();
    expect(blastRadiusRefusal(policy([{ namespace: 'other' }, { namespace: '*' }]), seed)).toBeNull();
  });

  test('refused: names the target, the policy file and the allowlist', () => {
    const msg = blastRadiusRefusal(policy([{ namespace: 'footanalytics', selector: 'app=web' }, { namespace: 'staging' }]), seed);
    expect(msg).toBe(
      'blast radius: target footanalytics/app.kubernetes.io/name=api-gateway is not in blastRadius.allow of /etc/tempest.yaml (allowed: footanalytics/app=web, staging)',
    );
    expect(blastRadiusRefusal(defaultPolicy(), seed)).toContain('(allowed: nothing)');
  });

  test("system namespaces (and the operator's protected ones) are never in *; only listed by exact name", () => {
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease']) {
      expect(blastRadiusRefusal(policy([{ namespace: '*' }]), target(ns, 'k8s-app=kube-dns'))).toContain(
        `(${ns} is a protected namespace: it must be listed by its exact name)`,
      );
      expect(blastRadiusRefusal(policy([{ namespace: ns }]), target(ns, 'k8s-app=kube-dns'))).toBeNull();
      expect(namespaceAllowed(policy([{ namespace: '*' }]), ns)).toBe(false);
    }
    expect(blastRadiusRefusal(policy([{ namespace: '*' }], ['tempest']), target('tempest', 'app=tempest-worker'))).toContain('protected namespace');
    expect(namespaceAllowed(policy([{ namespace: '*' }], ['tempest']), 'payments')).toBe(true);
  });

  test('an allowed selector admits exactly the targets it contains (set-based ones included)', () => {
    const p = policy([{ namespace: 'footanalytics', selector: 'app in (api-gateway,web)' }]);
    expect(blastRadiusRefusal(p, target('footanalytics', 'app=api-gateway'))).toBeNull();
    expect(blastRadiusRefusal(p, target('footanalytics', 'app in (web)'))).toBeNull();
    expect(blastRadiusRefusal(p, target('footanalytics', 'app=api-gateway,tier=edge'))).toBeNull(); // a subset
    expect(blastRadiusRefusal(p, target('footanalytics', 'app in (api-gateway,payments)'))).not.toBeNull();
    expect(blastRadiusRefusal(p, target('footanalytics', 'tier=edge'))).not.toBeNull(); // could select anything
    expect(blastRadiusRefusal(policy([{ namespace: '*', selector: 'app=web' }]), seed)).toContain('allowed: */app=web');
  });

  test("the worker's own namespace (withWorkerNamespace) is protected like kube-system: never by *, only by exact name", () => {
    const base = policy([{ namespace: '*' }]);
    const p = withWorkerNamespace(base, 'tempest-system');
    expect(base.blastRadius.workerNamespace).toBeUndefined(); // a copy
    expect(withWorkerNamespace(base, undefined)).toBe(base);
    expect(namespaceAllowed(base, 'tempest-system')).toBe(true); // the old hole: * included the worker's namespace
    expect(namespaceAllowed(p, 'tempest-system')).toBe(false);
    expect(namespaceAllowed(p, 'footanalytics')).toBe(true);
    expect(blastRadiusRefusal(p, target('tempest-system', 'app=tempest-worker'))).toContain(
      "(tempest-system is the worker's own namespace: it must be listed by its exact name)",
    );
    expect(namespaceRefusal(p, 'tempest-system')).toBe(
      "namespace tempest-system is the worker's own namespace: nothing may target it unless blastRadius.allow of /etc/tempest.yaml lists it by its exact name",
    );
    expect(namespaceRefusal(p, 'kube-system')).toBe('namespace kube-system is not in blastRadius.allow of /etc/tempest.yaml');
    expect(workerNamespaceRefusal(p, 'footanalytics')).toBeNull();
    expect(workerNamespaceRefusal(undefined, 'tempest-system', 'tempest-system')).toContain("the worker's own namespace"); // no policy at all
    const listed = withWorkerNamespace(policy([{ namespace: '*' }, { namespace: 'tempest-system', selector: 'app=canary' }]), 'tempest-system');
    expect(workerNamespaceRefusal(listed, 'tempest-system')).toBeNull();
    expect(blastRadiusRefusal(listed, target('tempest-system', 'app=canary'))).toBeNull();
    expect(blastRadiusRefusal(listed, target('tempest-system', 'app=tempest-worker'))).not.toBeNull();
  });

  test('namespaceScope: nothing, all of a namespace, or only what its selectors select (for probes)', () => {
    const sel = (s: string) => {
      const r = parseLabelSelector(s);
      if (!r.ok) throw new Error(r.error);
      return r.value;
    };
    const p = policy([
      { namespace: 'footanalytics', selector: 'app=api' },
      { namespace: 'footanalytics', selector: 'tier in (edge)' },
      { namespace: 'payments' },
    ]);
    const foot = namespaceScope(p, 'footanalytics');
    expect(scopeText(foot)).toBe('app=api or tier in (edge)');
    expect(selectorInScope(foot, sel('app=api'))).toBe(true);
    expect(selectorInScope(foot, sel('tier=edge,app=db'))).toBe(true);
    expect(selectorInScope(foot, sel('app=db'))).toBe(false);
    expect(selectorInScope(foot, sel(''))).toBe(false);
    expect(labelsInScope(foot, { app: 'api', 'pod-template-hash': 'x' })).toBe(true);
    expect(labelsInScope(foot, { app: 'db' })).toBe(false);
    expect(labelsInScope(foot, undefined)).toBe(false);
    expect(namespaceScope(p, 'payments')).toEqual({ allowed: true });
    expect(labelsInScope(namespaceScope(p, 'payments'), {})).toBe(true);
    expect(namespaceScope(p, 'staging')).toEqual({ allowed: false });
    expect(selectorInScope(namespaceScope(p, 'staging'), sel('app=api'))).toBe(false);
    // an unrestricted entry (here *) wins over a restricted one for the same namespace, as for fault targets
    expect(namespaceScope(policy([{ namespace: 'footanalytics', selector: 'app=api' }, { namespace: '*' }]), 'footanalytics')).toEqual({ allowed: true });
    expect(scopeText(namespaceScope(policy([{ namespace: '*', selector: 'app=web' }]), 'anything'))).toBe('app=web');
  });

  test('a target selector that is empty or invalid is refused, whatever the allowlist', () => {
    const p = policy([{ namespace: 'footanalytics' }]);
    expect(blastRadiusRefusal(p, target('footanalytics', ''))).toContain('an empty selector would select every pod');
    expect(blastRadiusRefusal(p, target('footanalytics', 'app=$(id)'))).toContain('the selector is not valid');
  });
});

describe('what a probe may reach', () => {
  test('link-local and metadata addresses are refused unless the operator lists them; credentials in URLs never', () => {
    const p = defaultPolicy();
    expect(hostRefusal(p, 'http://api-gateway.footanalytics:4000/health')).toBeNull();
    expect(hostRefusal(p, 'http://169.254.169.254/latest/meta-data/')).toContain('link-local / metadata address');
    expect(hostRefusal(p, 'http://metadata.google.internal/computeMetadata/v1/')).toContain('metadata');
    expect(hostRefusal(p, 'http://[fe80::1]/')).toContain('link-local');
    expect(hostRefusal(p, 'http://user:pw@example.com/')).toContain('credentials in a URL are not allowed');
    expect(hostRefusal(p, 'file:///etc/passwd')).toContain('file: URLs are not allowed');
    const listed = { ...p, probes: { ...p.probes, allowHosts: ['prometheus:9090', '169.254.169.254'] } };
    expect(hostRefusal(listed, 'http://prometheus:9090/api/v1/query')).toBeNull();
    expect(hostRefusal(listed, 'http://169.254.169.254/')).toBeNull();
    expect(hostRefusal(listed, 'http://api-gateway:4000/')).toContain('not in probes.allowHosts');
  });
});

describe('paths and images', () => {
  test.each<[string, string | undefined]>([
    ['/models/x.pth', '/models/x.pth'],
    ['/models/', '/models'],
    ['/', '/'],
    ['/models/../etc/passwd', undefined],
    ['/models/./x', undefined],
    ['/models//x', undefined],
    ['models/x', undefined],
    ['', undefined],
    ['/a\u0000b', undefined],
    ['/a\nb', undefined],
  ])('normalAbsolutePath(%j) = %j', (p, want) => expect(normalAbsolutePath(p)).toBe(want));

  test('pathWithin is segment-wise', () => {
    expect(pathWithin('/models/x', '/models')).toBe(true);
    expect(pathWithin('/models', '/models')).toBe(true);
    expect(pathWithin('/models-evil/x', '/models')).toBe(false);
    expect(pathWithin('/etc/x', '/')).toBe(true);
  });

  test.each<[string, boolean]>([
    ['busybox:1.36.1', true],
    ['docker.io/library/busybox:1.36.1', true],
    ['registry.example:5000/team/stress-ng:0.18', true],
    [`ghcr.io/x/y@sha256:${'a'.repeat(64)}`, true],
    ['ghcr.io/colinianking/stress-ng:latest', false],
    ['busybox', false],
    ['registry.example:5000/stress', false],
    ['busybox:1.36; rm -rf /', false],
    ['$(id)/x:1', false],
    ['Busybox:1', false],
  ])('isPinnedImage(%j) = %p', (ref, ok) => expect(isPinnedImage(ref)).toBe(ok));
});

describe('tempest.yaml: the policy the worker loads', () => {
  const write = (doc: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'tempest-policy-'));
    const file = join(dir, 'tempest.yaml');
    writeFileSync(file, stringify(doc));
    return file;
  };
  const problemsOf = (doc: unknown) => {
    try {
      loadTempestConfig(write(doc));
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    throw new Error('expected a ConfigError');
  };

  test('a literal secret is refused, naming the reference to use instead', () => {
    expect(problemsOf({ guards: [{ type: 'pagerduty', name: 'pd', apiUrl: 'https://api.pagerduty.com', token: 'abc' }] })).toEqual([
      'guards[0].token: secrets are never written in tempest.yaml: reference it with tokenEnv (an environment variable) or tokenFile (a file, e.g. a mounted Secret) instead of token',
    ]);
    expect(problemsOf({ rollbackActions: [{ type: 'pagerduty', routingKey: 'k' }] })[0]).toContain(
      'rollbackActions[0].routingKey: secrets are never written in tempest.yaml',
    );
    expect(problemsOf({ temporal: { apiKey: 'k' } })[0]).toContain('temporal.apiKey: secrets are never written');
    expect(problemsOf({ rollbackActions: [{ type: 'pagerduty' }] })[0]).toContain('needs exactly one of routingKeyEnv or routingKeyFile');
  });

  test('references resolve: env by name, files against the config folder; the run view carries names only', () => {
    const file = write({
      guards: [{ type: 'pagerduty', name: 'pd', apiUrl: 'https://api.pagerduty.com', tokenFile: 'secrets/pd-token' }],
      rollbackActions: [{ type: 'pagerduty', routingKeyEnv: 'PD_ROUTING_KEY' }],
      rollbackTriggers: { triggers: [{ name: 'errors', endpoint: 'http://prom:9090', query: 'x', criteria: '>=', threshold: 0.05 }] },
    });
    const cfg = loadTempestConfig(file);
    expect(cfg.guards[0]).toMatchObject({ type: 'pagerduty', tokenRef: { file: join(file, '..', 'secrets/pd-token') } });
    expect(cfg.rollbackActions[0]).toMatchObject({ type: 'pagerduty', routingKeyRef: { env: 'PD_ROUTING_KEY' } });
    expect(runPolicyView(cfg)).toEqual({
      source: file,
      guards: [{ name: 'pd', type: 'pagerduty' }],
      triggers: [{ name: 'errors', query: 'x', criteria: '>=', threshold: '0.05' }],
      triggerPollMs: 5000,
      triggerBlindAfter: 3,
      rollbackActions: [{ name: 'Trigger incident', type: 'pagerduty' }],
      deadManMarginMs: 60_000,
    });
    // the dead-man margin is the worker's too, bounded
    expect(runPolicyView(loadTempestConfig(write({ faults: { deadManMargin: '2m' } }))).deadManMarginMs).toBe(120_000);
    expect(problemsOf({ faults: { deadManMargin: '1h' } })).toEqual(['faults.deadManMargin: must be from 5s to 5m']);
  });

  test('images must be pinned; allow-list entries too', () => {
    expect(problemsOf({ images: { stress: 'ghcr.io/colinianking/stress-ng:latest' } })).toEqual([
      'images.stress: must be a pinned image reference (a tag other than latest, or @sha256:<digest>)',
    ]);
    expect(problemsOf({ images: { allow: ['busybox'] } })[0]).toContain('images.allow[0]: must be a pinned image reference');
    const cfg = loadTempestConfig(write({ images: { stress: 'registry.example/stress-ng:0.18.06' } }));
    expect(cfg.policy.images).toMatchObject({ stress: 'registry.example/stress-ng:0.18.06', tools: 'docker.io/library/busybox:1.36.1', allow: [] });
  });

  test('blast-radius entries: namespaces are DNS labels or *, selectors parse; limits and probe settings land in the policy', () => {
    expect(problemsOf({ blastRadius: { allow: [{ namespace: '../kube-system' }] } })[0]).toContain('blastRadius.allow[0].namespace: must be a namespace name');
    expect(problemsOf({ blastRadius: { allow: [{ namespace: 'a', selector: 'app=(' }] } })[0]).toContain(
      'blastRadius.allow[0].selector: is not a valid label selector',
    );
    const cfg = loadTempestConfig(
      write({
        blastRadius: { allow: [{ namespace: 'footanalytics', selector: 'app in (a,b)' }], protectedNamespaces: ['tempest'] },
        limits: { maxChaosDuration: '30m', maxCpuCores: 4, document: { maxBytes: 65536 } },
        probes: { allowLocalCommands: true, allowHosts: ['prometheus:9090'], k8sWritable: ['configmaps'] },
        files: { corruptionRoots: ['/models', 'local-models'] },
      }),
    );
    expect(cfg.policy.blastRadius).toEqual({ allow: [{ namespace: 'footanalytics', selector: 'app in (a,b)' }], protectedNamespaces: ['tempest'] });
    expect(cfg.policy.limits).toMatchObject({ maxChaosDurationMs: 1_800_000, maxCpuCores: 4 });
    expect(cfg.documentLimits).toMatchObject({ maxBytes: 65536, maxDocuments: 100 });
    expect(cfg.policy.probes).toMatchObject({ allowLocalCommands: true, followRedirects: false, allowHosts: ['prometheus:9090'], k8sWritable: ['configmaps'] });
    expect(cfg.policy.files.corruptionRoots).toEqual(['/models', join(cfg.file!, '..', 'local-models')]);
  });
});

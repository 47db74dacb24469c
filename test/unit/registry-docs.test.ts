/**
 * The fault registry is the one source: deploy/rbac.yaml must grant what every Kubernetes fault's descriptor says
 * it needs, and the fault tables of the README and docs/kubernetes.md must name exactly the registry's faults.
 * (The audit-log suite, test/integration/k8s/rbac-audit.test.ts, proves the other direction on a real API server:
 * everything the code does is granted, and nothing granted goes unused.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { FAULTS, TARGET_RBAC } from '../../activities/faults/registry.js';
import type { RbacRule } from '../../activities/faults/descriptor.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

interface Role {
  metadata: { name: string; namespace: string };
  rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
}

function grants(role: Role, group: string, resource: string, verb: string): boolean {
  return role.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && (r.verbs.includes(verb) || r.verbs.includes('*')));
}

/** The fault names a markdown table's first column mentions (cells like "pod-cpu-hog / pod-memory-hog" or "container-kill, `CHAOS_MODE=exec`"). */
function tableFaults(md: string, header: RegExp): string[] {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => header.test(l));
  expect(start).toBeGreaterThanOrEqual(0);
  const names = new Set<string>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cell = line.split('|')[1];
    for (const m of cell.matchAll(/[a-z]+(?:-[a-z]+)+/g)) names.add(m[0]);
  }
  return [...names].sort();
}

describe('the registry against deploy/rbac.yaml and the docs', () => {
  const k8sFaults = FAULTS.filter((d) => d.platforms.kubernetes === true);

  test("deploy/rbac.yaml grants, in every namespace it sets up, what each Kubernetes fault's descriptor needs", () => {
    // The worker's Roles per namespace (tempest-chaos, and the optional tempest-chaos-node-helpers the file
    // documents for container-kill's helper-pod mode), taken together.
    const roles = parseAllDocuments(read('deploy/rbac.yaml'))
      .map((d) => d.toJS() as { kind?: string } & Role)
      .filter((o) => o?.kind === 'Role' && o.metadata.name.startsWith('tempest-chaos'));
    const byNamespace = new Map<string, Role>();
    for (const r of roles) {
      const merged = byNamespace.get(r.metadata.namespace) ?? { metadata: r.metadata, rules: [] };
      merged.rules.push(...r.rules);
      byNamespace.set(r.metadata.namespace, merged);
    }
    expect([...byNamespace.keys()].sort()).toEqual(['ai-processing', 'footanalytics']);
    const needed: Array<[string, RbacRule]> = [
      ...TARGET_RBAC.map((r) => ['(target)', r] as [string, RbacRule]),
      ...k8sFaults.flatMap((d) => d.rbac.map((r) => [d.name, r] as [string, RbacRule])),
    ];
    const missing: string[] = [];
    for (const [ns, role] of byNamespace)
      for (const [fault, rule] of needed)
        for (const resource of rule.resources)
          for (const verb of rule.verbs)
            if (!grants(role, rule.apiGroup, resource, verb))
              missing.push(`${ns}: ${fault} needs ${verb} ${rule.apiGroup || 'core'}/${resource} (${rule.why})`);
    expect(missing).toEqual([]);
  });

  test("docs/kubernetes.md's fault table has a row for exactly the registry's Kubernetes faults", () => {
    expect(tableFaults(read('docs/kubernetes.md'), /^\| fault \| inject \| revert \| verify \|/)).toEqual(k8sFaults.map((d) => d.name).sort());
  });

  test("the README's platforms table names exactly the registry's faults", () => {
    expect(tableFaults(read('README.md'), /^\| fault \| local platform/)).toEqual(FAULTS.map((d) => d.name).sort());
  });
});

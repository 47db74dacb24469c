/**
 * References between documents (`engine:` of a hypothesis, a progressive set, a game-day catalog entry) are
 * relative .yaml/.yml paths, and a referenced file that is not one of ours is refused without echoing what it
 * holds: in CI a pull request's YAML is loaded by a pipeline whose log its author reads (config/reference.ts).
 * Real files, real symlinks, the real loader.
 */
import { copyFileSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../config/errors.js';
import { loadFile } from '../../config/load.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'hunter2-pipeline-token';

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tempest-ref-'));
  copyFileSync(join(ROOT, 'examples/engines/api-gateway-chaos.yaml'), join(d, 'engine.yaml'));
  writeFileSync(join(d, 'secret.env'), `TOKEN=${SECRET}\n`);
  writeFileSync(join(d, 'secret.yaml'), `${SECRET}\n`);
  writeFileSync(join(d, 'values.yaml'), `token: ${SECRET}\nimage: nginx\n`);
  return d;
}

const hypothesis = (ref: string) =>
  `apiVersion: tempest.io/v1alpha1\nkind: ChaosHypothesis\nmetadata: {name: h}\nspec:\n  engine: ${JSON.stringify(ref)}\n  experiment_template: {hypothesis: x}\n`;
const progressive = (ref: string) =>
  `apiVersion: tempest.io/v1alpha1\nkind: ProgressiveChaos\nmetadata: {name: p}\nspec:\n  engine: ${JSON.stringify(ref)}\n  progressive_chaos:\n    stage_1: {name: one, chaos_percentage: 50, duration: "1 minute", success_threshold: 0.9}\n`;
const gameDay = (ref: string) =>
  `apiVersion: tempest.io/v1alpha1\nkind: GameDay\nmetadata: {name: g}\nspec:\n  catalog:\n    a: {engine: ${JSON.stringify(ref)}}\n  game_days:\n    duration: "1 hour"\n    scenarios:\n      - {name: S, duration: "30 minutes", experiments: [a]}\n`;

function refusal(d: string, text: string): string {
  const f = join(d, 'doc.yaml');
  writeFileSync(f, text);
  try {
    loadFile(f);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain(SECRET);
    return msg;
  }
  throw new Error(`accepted: ${text}`);
}

describe.each([
  ['ChaosHypothesis', hypothesis, 'spec.engine'],
  ['ProgressiveChaos', progressive, 'spec.engine'],
  ['GameDay', gameDay, 'spec.catalog.a.engine'],
] as const)('%s engine references', (_kind, make, path) => {
  test('a relative .yaml reference loads', () => {
    const d = dir();
    const f = join(d, 'doc.yaml');
    writeFileSync(f, make('engine.yaml'));
    expect(loadFile(f)).toHaveLength(1);
  });

  test('an absolute path is refused at its field, before anything is read', () => {
    const d = dir();
    expect(refusal(d, make(join(d, 'engine.yaml')))).toContain(`${path}: must be a path relative to this file`);
    expect(refusal(d, make('/proc/self/environ'))).toContain(`${path}: must be a path relative to this file`);
  });

  test('a reference that does not name a .yaml/.yml file is refused', () => {
    const d = dir();
    expect(refusal(d, make('secret.env'))).toContain(`${path}: must name a .yaml or .yml file`);
    expect(refusal(d, make('../../../../../../proc/self/environ'))).toContain('must name a .yaml or .yml file');
  });

  test('a .yaml symlink to something else is refused by what it really is', () => {
    const d = dir();
    symlinkSync(join(d, 'secret.env'), join(d, 'innocent.yaml'));
    expect(refusal(d, make('innocent.yaml'))).toMatch(/resolves \(through a symlink\) to .*secret\.env, which is not a \.yaml or \.yml file/);
    symlinkSync('/proc/self/environ', join(d, 'env.yaml'));
    expect(refusal(d, make('env.yaml'))).toMatch(/resolves to \/proc\/\d+\/environ, under \/proc, \/sys, \/dev: not a document/);
  });

  test('a YAML file that is not one of ours is refused without a word of its content', () => {
    const d = dir();
    expect(refusal(d, make('secret.yaml'))).toContain('is not a Tempest or Litmus document (document 1 has no known kind; its content is not shown)');
    expect(refusal(d, make('values.yaml'))).toContain('its content is not shown');
  });
});

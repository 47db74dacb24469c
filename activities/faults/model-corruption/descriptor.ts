/** model-corruption: corrupt FILE_PATH (inside the operator's corruption roots) after a checksummed backup; restore on revert. */
import { defineFault } from '../descriptor.js';
import { absPathParam, dnsLabelParam, enumParam } from '../params.js';

export const modelCorruption = defineFault({
  name: 'model-corruption',
  style: 'sustained',
  summary: 'corrupt a model file after a checksummed backup; the revert restores it and verifies the checksum',
  defaultDurationS: 60,
  params: [
    absPathParam('FILE_PATH', 'filePath'),
    enumParam('CORRUPTION_TYPE', 'corruptionType', ['random_bytes', 'truncate', 'zero'] as const, { dflt: 'random_bytes' }),
    dnsLabelParam('TARGET_CONTAINER', 'targetContainer'),
  ],
  refine: (p) => (p.filePath ? [] : [{ env: 'FILE_PATH', message: 'model-corruption needs FILE_PATH' }]),
  images: [],
  prepares: true,
  platforms: { local: true, kubernetes: true },
  rbac: [{ apiGroup: '', resources: ['pods/exec'], verbs: ['create'], why: 'checksum, back up, corrupt and restore the file inside the target container' }],
});

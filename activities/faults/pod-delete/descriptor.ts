/** pod-delete: delete PODS_AFFECTED_PERC of the target's pods every CHAOS_INTERVAL; the owner recreates them. */
import { defineFault } from '../descriptor.js';
import { boolParam } from '../params.js';

export const podDelete = defineFault({
  name: 'pod-delete',
  style: 'periodic',
  summary: 'delete target pods every CHAOS_INTERVAL (FORCE=true: grace period 0)',
  defaultDurationS: 15,
  params: [boolParam('FORCE', 'force', false)],
  images: [],
  platforms: { local: true, kubernetes: true },
  rbac: [{ apiGroup: '', resources: ['pods'], verbs: ['delete'], why: 'delete the chosen pods (uid precondition)' }],
});

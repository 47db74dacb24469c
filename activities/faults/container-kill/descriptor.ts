/** container-kill: kill TARGET_CONTAINER of the chosen pods every CHAOS_INTERVAL (helper pod on the node, or exec). */
import { DEFAULT_RUNTIME_SOCKETS } from '../../../config/policy.js';
import { defineFault } from '../descriptor.js';
import { SIGNALS, absPathParam, dnsLabelParam, enumParam, imageParam, normalizeSignal } from '../params.js';

export const containerKill = defineFault({
  name: 'container-kill',
  style: 'periodic',
  summary: 'kill the target container every CHAOS_INTERVAL; the kubelet restarts it',
  defaultDurationS: 60,
  params: [
    enumParam('CONTAINER_RUNTIME', 'containerRuntime', ['containerd', 'docker', 'crio'] as const, { dflt: 'containerd' }),
    absPathParam('SOCKET_PATH', 'socketPath', { charset: /^[A-Za-z0-9._/-]+$/, describe: `an absolute socket path such as ${DEFAULT_RUNTIME_SOCKETS[0]}` }),
    dnsLabelParam('TARGET_CONTAINER', 'targetContainer'),
    enumParam('CHAOS_MODE', 'chaosMode', ['helper', 'exec'] as const, { dflt: 'helper', normalize: (s) => s.toLowerCase() }),
    // No default: helper mode's crictl stops the container its own way (docker: SIGKILL); exec mode sends TERM to PID 1.
    enumParam('SIGNAL', 'signal', SIGNALS, { normalize: normalizeSignal }),
    imageParam('LIB_IMAGE', 'runtimeHelper'),
  ],
  images: ['runtimeHelper'],
  platforms: { local: true, kubernetes: true },
  rbac: [
    {
      apiGroup: '',
      resources: ['pods'],
      verbs: ['create', 'delete'],
      why: 'helper mode: a short-lived helper pod on the target node (runtime socket mounted), deleted on revert',
    },
    { apiGroup: '', resources: ['pods/exec'], verbs: ['create'], why: 'exec mode: kill -<SIGNAL> 1 in the target container' },
  ],
});

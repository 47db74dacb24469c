/** Workflow entry points registered by the worker (bundled once). */
export { experimentWorkflow } from './experiment.js';
export { scheduleGateWorkflow } from './schedule-gate.js';
export { progressiveWorkflow } from './progressive.js';
export { gameDayWorkflow } from './gameday.js';
export { reconcileWorkflow } from './reconciler.js';

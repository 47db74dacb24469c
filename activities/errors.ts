/**
 * Typed failures of Tempest activities (in the manner of litmus-go's error codes). The `type` is what the
 * workflow's retry policies match: non-retryable ones end the attempt at once with a clear message.
 */
import { ApplicationFailure } from '@temporalio/common';

export type TempestErrorType =
  | 'FaultRefused' // blast radius, engine refused before injection
  | 'UnsupportedFault' // this platform cannot run that fault
  | 'TargetNotFound' // appinfo resolves to nothing
  | 'Forbidden' // the platform said no (RBAC): names the missing verb
  | 'Conflict' // retryable: someone else changed the object
  | 'NotYetClean' // retryable: revert done but verification still sees the fault
  | 'PlatformUnavailable'; // retryable: API/fleet not answering

const NON_RETRYABLE = new Set<TempestErrorType>(['FaultRefused', 'UnsupportedFault', 'TargetNotFound', 'Forbidden']);

export function tempestError(type: TempestErrorType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: NON_RETRYABLE.has(type), details: details === undefined ? undefined : [details] });
}

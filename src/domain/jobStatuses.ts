// Azure ML job statuses, in one place: which are final, and the canonical spelling (events and APIs
// use more than one casing). Pure, so orchestrations, intake and the operator API share it.

export const CANONICAL_JOB_STATUSES = ['NotStarted', 'Starting', 'Provisioning', 'Preparing', 'Queued', 'Running', 'Finalizing', 'CancelRequested', 'Completed', 'Failed', 'Canceled', 'NotResponding', 'Paused', 'Unknown'] as const;

export const TERMINAL_JOB_STATUSES = ['Completed', 'Failed', 'Canceled', 'NotResponding'] as const;
export type TerminalJobStatus = (typeof TERMINAL_JOB_STATUSES)[number];

export function isTerminalJobStatus(status: string | undefined): status is TerminalJobStatus {
  return (TERMINAL_JOB_STATUSES as readonly string[]).includes(status ?? '');
}

/** `failed` → `Failed`; an unknown status passes through unchanged. */
export function canonicalJobStatus(status: string): string {
  const wanted = status.toLowerCase().replace(/[\s_]/g, '');
  return CANONICAL_JOB_STATUSES.find((s) => s.toLowerCase() === wanted) ?? status;
}

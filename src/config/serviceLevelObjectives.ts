// The `slo:` section of a route: what "healthy" means for its scoring runs, so the operator API can say
// per route whether it is met and how fast the error budget burns, and alerts can page on it. Parsed
// with zod when the routes file loads: a success rate of 99 (not 0.99) or a window of "7 days" is
// reported at startup with its field, not discovered on the dashboard.
import { z } from 'zod';
import { strictSection } from './strictSection';
import { MAX_SLO_WINDOW_IN_DAYS, windowInSeconds } from './sloWindows';

const sloWindow = z.string().superRefine((text, ctx) => {
  const seconds = windowInSeconds(text);
  if (seconds === undefined) ctx.addIssue({ code: 'custom', message: `'${text}' is not a window: write a whole number and m, h or d, e.g. 7d, 24h or 90m` });
  else if (seconds < 3600) ctx.addIssue({ code: 'custom', message: `'${text}' is shorter than an hour: attainment over so few runs says little` });
  else if (seconds > MAX_SLO_WINDOW_IN_DAYS * 86400) ctx.addIssue({ code: 'custom', message: `'${text}' is longer than ${MAX_SLO_WINDOW_IN_DAYS}d, the longest window batchpilot keeps measurements for` });
});

const ratio = (what: string) => z.number({ error: `must be a number: ${what}` }).min(0, `must be a ratio between 0 and 1 (0.99 = 99%): ${what}`).max(1, `must be a ratio between 0 and 1 (0.99 = 99%): ${what}`);

export const sloSchema = strictSection({
  successRate: ratio('the share of finished runs that must complete')
    .refine((r) => r < 1, 'must be below 1: an objective of 100% leaves no error budget to burn')
    .optional()
    .describe('Share of finished runs that must end Completed (0.99 = 99%).'),
  p95DurationInMinutes: z.number().positive('must be a positive number of minutes').optional().describe('95th percentile of run duration, arrival of the run to its outcome.'),
  maxFailedFileRatio: ratio('the largest failed-file ratio a run may have').optional().describe("Largest share of a run's input files the job may fail on; a run above it counts against this objective."),
  window: sloWindow.default('7d').describe('The window attainment is computed over (besides the last 24 h): <n>m, <n>h or <n>d, at most 90d.'),
}).superRefine((slo, ctx) => {
  if (slo.successRate === undefined && slo.p95DurationInMinutes === undefined && slo.maxFailedFileRatio === undefined) {
    ctx.addIssue({ code: 'custom', message: 'states no objective: give at least one of successRate, p95DurationInMinutes, maxFailedFileRatio' });
  }
});

/** A route's objectives with the window filled in. */
export type ServiceLevelObjectives = z.output<typeof sloSchema>;

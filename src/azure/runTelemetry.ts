// Sends each finished run's measurements to Application Insights as custom metrics, through the Azure
// Monitor OpenTelemetry distro (@azure/monitor-opentelemetry), authenticated with the app's managed
// identity (the workspace refuses keys: APPLICATIONINSIGHTS_AUTHENTICATION_STRING). Every metric carries
// the dimensions route, kind and outcome; infra/app/alerts.bicep queries these names. Without
// APPLICATIONINSIGHTS_CONNECTION_STRING (the local stack) nothing is sent and the distro is never loaded:
// the measurements table is what the dashboard reads in both places.
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import type { RunMeasurements } from '../domain/runMeasurements';
import { appCredential } from './credentials';

/** Metric names as they appear in Application Insights' customMetrics table. */
export const RUN_METRICS = {
  runs: 'batchpilot.runs',
  duration: 'batchpilot.run.duration_s',
  arrivalToSubmission: 'batchpilot.run.arrival_to_submission_s',
  jobQueue: 'batchpilot.job.queue_s',
  jobRun: 'batchpilot.job.run_s',
  rowsScored: 'batchpilot.run.rows_scored',
  failedFileRatio: 'batchpilot.run.failed_file_ratio',
  resubmissions: 'batchpilot.run.resubmissions',
  controlPlaneCalls: 'batchpilot.run.control_plane_calls',
  drift: 'batchpilot.run.drift_psi',
  stuckRuns: 'batchpilot.runs.stuck',
} as const;

interface Instruments {
  runs: Counter;
  histograms: Record<Exclude<keyof typeof RUN_METRICS, 'runs' | 'stuckRuns'>, Histogram>;
  stuck: Histogram;
}

let instruments: Instruments | undefined | null;

function startTelemetry(env: NodeJS.ProcessEnv): Instruments | null {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (!connectionString) return null;
  const { useAzureMonitor } = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  const { metrics } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, credential: appCredential() },
    // The Functions host already reports requests and dependencies; batchpilot adds its run metrics only.
    instrumentationOptions: { http: { enabled: false }, azureSdk: { enabled: false } },
  });
  const meter: Meter = metrics.getMeter('batchpilot');
  const histogram = (name: string, unit: string, description: string): Histogram => meter.createHistogram(name, { unit, description });
  return {
    runs: meter.createCounter(RUN_METRICS.runs, { description: 'Finished runs, by route, kind, outcome and validation verdict' }),
    histograms: {
      duration: histogram(RUN_METRICS.duration, 's', 'Run duration'),
      arrivalToSubmission: histogram(RUN_METRICS.arrivalToSubmission, 's', "From the first input's arrival to the job's submission"),
      jobQueue: histogram(RUN_METRICS.jobQueue, 's', 'Job queue time as batchpilot saw it'),
      jobRun: histogram(RUN_METRICS.jobRun, 's', 'Job run time as batchpilot saw it'),
      rowsScored: histogram(RUN_METRICS.rowsScored, '{row}', 'Prediction rows the run wrote'),
      failedFileRatio: histogram(RUN_METRICS.failedFileRatio, '1', 'Share of input files the job failed on'),
      resubmissions: histogram(RUN_METRICS.resubmissions, '{job}', 'Jobs resubmitted after preemption'),
      controlPlaneCalls: histogram(RUN_METRICS.controlPlaneCalls, '{call}', 'Azure ML calls the run made'),
      drift: histogram(RUN_METRICS.drift, '1', "PSI of the run's scores against its route's baseline"),
    },
    stuck: histogram(RUN_METRICS.stuckRuns, '{run}', 'Runs still unfinished past their route timeout, per maintenance pass'),
  };
}

function telemetry(env: NodeJS.ProcessEnv = process.env): Instruments | null {
  if (instruments === undefined) instruments = startTelemetry(env);
  return instruments;
}

/** True when measurements go to Application Insights (a connection string is configured). */
export function telemetryEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return telemetry(env) !== null;
}

/**
 * Records one finished run's measurements as metrics; a no-op without Application Insights. The route's
 * success-rate objective rides along on the run counter, so the burn-rate alert needs no copy of the routes file.
 */
export function emitRunMeasurements(m: RunMeasurements, sloSuccessRate?: number): void {
  const t = telemetry();
  if (!t) return;
  const dims = { route: m.route, kind: m.kind, outcome: m.outcome };
  t.runs.add(1, { ...dims, validation: m.validation, drift: m.drift ? String(m.drift.detected) : 'none', ...(sloSuccessRate !== undefined ? { slo_success_rate: String(sloSuccessRate) } : {}) });
  const values: Array<[keyof Instruments['histograms'], number | undefined]> = [
    ['duration', m.durationInSeconds],
    ['arrivalToSubmission', m.arrivalToSubmissionInSeconds],
    ['jobQueue', m.jobQueueInSeconds],
    ['jobRun', m.jobRunInSeconds],
    ['rowsScored', m.rowsScored],
    ['failedFileRatio', m.failedFileRatio],
    ['resubmissions', m.resubmissions],
    ['controlPlaneCalls', m.controlPlaneCalls],
    ['drift', m.drift?.psi],
  ];
  for (const [name, value] of values) if (value !== undefined) t.histograms[name].record(value, dims);
}

/** Records how many runs of a route are unfinished past their timeout (the maintenance pass counts them). */
export function emitStuckRuns(route: string, count: number): void {
  telemetry()?.stuck.record(count, { route, kind: 'blob', outcome: 'Running' });
}

// How every run ends (scoreBlobRun, promoteModel, rollbackModel): write the run record → publish the
// outcome event → note in the record that the event went out. Storage or the topic being down for
// longer than an activity's own retries does not lose the outcome: each step is tried again on durable
// timers, backing off, until the ending's deadline (the route's events.retry, counted from when the
// outcome is known); a permanent failure is not tried again. The event ID is derived from the run and
// its outcome, so a send repeated after a crash is one event to subscribers. A long outage continues
// the run as new every few attempts so its history stays bounded; the run's input then carries the
// ending, and the orchestration resumes here.
import type { OrchestrationContext, Task } from 'durable-functions';
import {
  ACTIVITY,
  ActivityAttempt,
  attemptActivity,
  backoffDelayInSeconds,
  INDEX_RETRY,
  outcomeEventId,
  RunAnnouncement,
  WriteRunRecordOutput,
} from '../activities/contracts';
import { DEFAULT_EVENTS_RETRY } from '../config/routeDefaults';
import type { RunMeasurements } from '../domain/runMeasurements';
import type { RunLog } from './replaySafeLog';
import type { RunIndexer } from './runIndexing';

/** An attempt at one of the ending's steps that failed, and how. */
type FailedAttempt = Extract<ActivityAttempt<unknown>, { ok: false }>;

/** Failed attempts one generation makes before it continues as new. */
export const FAILED_ATTEMPTS_PER_GENERATION = 10;

export interface RunEndingRetry {
  minIntervalInSeconds: number;
  maxIntervalInSeconds: number;
  timeoutInMinutes: number;
}

/** What a run ends with. `R` is what the orchestration returns once the event is out. */
export interface RunEnding<R> {
  runId: string;
  routeName: string;
  topicEndpoint?: string;
  eventType: string;
  subject: string;
  /** The run record's content; the event's data is the same plus where the record is. */
  summary: Record<string, unknown>;
  /** Absent in runs started before routes had events.retry: the defaults apply. */
  retry?: RunEndingRetry;
  result: R;
  /** What the run measured (route health, Application Insights); recorded once, as the ending starts. */
  measurements?: RunMeasurements;
  progress?: RunEndingProgress;
}

export interface RunEndingProgress {
  deadline: string;
  step: 'record' | 'announce' | 'note';
  /** Failed attempts at the current step. */
  failures: number;
  lastError?: string;
  /** Publish attempts so far. */
  announceAttempts: number;
  record?: WriteRunRecordOutput;
  recordProblem?: string;
  sentAt?: string;
  announceProblem?: string;
  /** When the next attempt is due: a new generation waits for it before trying again. */
  nextAttemptAt?: string;
  generation: number;
}

/** What the orchestration returns: its result, where the record is and what became of the event. */
export type EndedRun<R> = R & { record?: WriteRunRecordOutput; announcement: RunAnnouncement };

/** What every run's result says: how it ended and, unless it succeeded, why. */
export interface RunOutcomeOf {
  outcome: string;
  reason?: string;
}

export interface RunEndingHooks<R> {
  /** The orchestration's input: a new generation gets it back with this ending in `ending`. */
  input: object;
  /** Shows the ending's phase ('recording', 'announcing', 'done') in the custom status. */
  status(phase: string, extra: Record<string, unknown>): void;
  log: RunLog;
  /** The line logged once the event is out; by default `Run <outcome>: <reason>`. */
  finished?(result: R): { message: string; extra?: Record<string, unknown> };
  /** The run index: told the run Completed before the event goes out, Failed when the ending throws. */
  index?: RunIndexer;
  /** What the index keeps of the result; by default its outcome and reason. */
  indexed?(result: R): Record<string, unknown>;
}

function addSeconds(at: Date, seconds: number): Date {
  return new Date(at.getTime() + seconds * 1000);
}

/**
 * How every run ends: runs the ending to completion and logs the outcome; undefined when it continued
 * as new (the next generation resumes it). Throws when the event could not be published, so the
 * instance ends Failed with the reason — the run record says the same when storage allowed it to be
 * written.
 */
export function* endRun<R extends RunOutcomeOf>(context: OrchestrationContext, ending: RunEnding<R>, hooks: RunEndingHooks<R>): Generator<Task, EndedRun<R> | undefined, unknown> {
  let ended: EndedRun<R> | undefined;
  const r = ending.result;
  // Only the first generation indexes and measures: one that resumes a long outage's ending already did.
  if (!ending.progress) {
    // The index shows the outcome before the event announces it: a subscriber that asks sees it.
    if (hooks.index) yield* hooks.index.write('Completed', { output: hooks.indexed?.(r) ?? { outcome: r.outcome, reason: r.reason } });
    if (ending.measurements) {
      const measured = yield* attemptActivity(context, ACTIVITY.recordRunMeasurements, ending.measurements, INDEX_RETRY);
      if (!measured.ok) hooks.log(`The run's measurements were not recorded (route health and telemetry will miss this run): ${measured.message}`, { failureClass: 'measurements' });
    }
  }
  try {
    ended = yield* recordThenAnnounce(context, ending, hooks);
  } catch (err) {
    if (hooks.index) yield* hooks.index.write('Failed', { output: (err as Error).message });
    throw err;
  }
  if (ended) {
    const line = hooks.finished?.(r) ?? { message: `Run ${r.outcome}${r.reason ? `: ${r.reason}` : ''}` };
    hooks.log(line.message, line.extra);
  }
  return ended;
}

function* recordThenAnnounce<R>(context: OrchestrationContext, ending: RunEnding<R>, hooks: RunEndingHooks<R>): Generator<Task, EndedRun<R> | undefined, unknown> {
  const retry = ending.retry ?? DEFAULT_EVENTS_RETRY;
  const backoff = { firstIntervalInSeconds: retry.minIntervalInSeconds, maxIntervalInSeconds: retry.maxIntervalInSeconds };
  const p: RunEndingProgress = ending.progress ?? {
    deadline: addSeconds(context.df.currentUtcDateTime, retry.timeoutInMinutes * 60).toISOString(),
    step: 'record',
    failures: 0,
    announceAttempts: 0,
    generation: 0,
  };
  const eventId = outcomeEventId(ending.runId, ending.eventType);
  const recordWith = (announcement: RunAnnouncement) => ({ runId: ending.runId, routeName: ending.routeName, record: { ...ending.summary, eventType: ending.eventType, announcement } });
  const phaseOf = (step: RunEndingProgress['step']): string => (step === 'announce' ? 'announcing' : 'recording');
  const show = (extra: Record<string, unknown> = {}): void =>
    hooks.status(phaseOf(p.step), { attempts: p.step === 'announce' ? p.announceAttempts : p.failures, lastError: p.lastError, deadline: p.deadline, ...extra });

  function nextStep(step: RunEndingProgress['step']): void {
    p.step = step;
    p.failures = 0;
    p.lastError = undefined;
  }

  function announcement(): RunAnnouncement {
    return p.sentAt
      ? { state: 'sent', eventId, type: ending.eventType, sentAt: p.sentAt, attempts: p.announceAttempts }
      : { state: 'failed', eventId, type: ending.eventType, attempts: p.announceAttempts, reason: p.announceProblem };
  }

  function finish(noteProblem?: string): EndedRun<R> {
    const result: EndedRun<R> = { ...ending.result, record: p.record, announcement: announcement() };
    if (!p.sentAt) {
      hooks.status('announcement failed', { announcement: result.announcement, recordProblem: p.recordProblem, noteProblem });
      throw new Error(
        `Run ${ending.runId} ended but was not announced. ${p.announceProblem ?? ''}${p.record ? ` The run record ${p.record.container}/${p.record.blobName} ${noteProblem ? `still says the event is pending (${noteProblem})` : 'says so'}.` : ` ${p.recordProblem ?? ''}`} Publish the ${ending.eventType} event (ID ${eventId}) by hand or rerun once the cause is fixed.`,
      );
    }
    hooks.status('done', { announcement: result.announcement, recordProblem: p.recordProblem, noteProblem });
    if (p.recordProblem) hooks.log(`${ending.eventType} is out, but ${p.recordProblem}`);
    if (noteProblem) hooks.log(`${ending.eventType} is out, but ${noteProblem}`);
    return result;
  }

  let failedThisGeneration = 0;
  for (;;) {
    if (p.nextAttemptAt) {
      const due = new Date(p.nextAttemptAt);
      p.nextAttemptAt = undefined;
      if (due.getTime() > context.df.currentUtcDateTime.getTime()) {
        show({ nextAttemptAt: due.toISOString() });
        yield context.df.createTimer(due);
      }
    }
    show();
    let attempt: FailedAttempt;
    if (p.step === 'record') {
      const written = yield* attemptActivity(context, ACTIVITY.writeRunRecord, recordWith({ state: 'pending', eventId, type: ending.eventType }));
      if (written.ok) {
        p.record = written.value;
        nextStep('announce');
        continue;
      }
      attempt = written;
    } else if (p.step === 'announce') {
      p.announceAttempts += 1;
      const announced = yield* attemptActivity(context, ACTIVITY.announceRun, {
        runId: ending.runId,
        topicEndpoint: ending.topicEndpoint,
        type: ending.eventType,
        subject: ending.subject,
        eventId,
        data: { ...ending.summary, record: p.record ? `${p.record.container}/${p.record.blobName}` : undefined, recordProblem: p.recordProblem },
        noteIn: p.record ? { ...p.record, attempts: p.announceAttempts } : undefined,
      });
      if (announced.ok) {
        const sent = announced.value;
        p.sentAt = sent.sentAt;
        if (sent.recordNoted || !p.record) return finish();
        hooks.log(`The ${ending.eventType} event is out, but noting it in the run record failed: ${sent.recordProblem ?? 'no reason given'}; rewriting the record.`);
        nextStep('note');
        continue;
      }
      attempt = announced;
    } else {
      // Only reached with a record: the event went out but the record could not say so, or it failed for good.
      const noted = yield* attemptActivity(context, ACTIVITY.writeRunRecord, recordWith(announcement()));
      if (noted.ok) return finish();
      attempt = noted;
    }

    p.failures += 1;
    p.lastError = attempt.message;
    const now = context.df.currentUtcDateTime;
    const retryAt = addSeconds(now, backoffDelayInSeconds(backoff, p.failures));
    const deadline = new Date(p.deadline);
    if (attempt.failureClass === 'permanent' || now.getTime() >= deadline.getTime()) {
      const why = attempt.failureClass === 'permanent' ? attempt.message : `still failing at the deadline ${p.deadline} after ${p.failures} attempt(s); last error: ${attempt.message}`;
      hooks.log(`${describeStep(p.step, ending.eventType)} failed: ${why}`, { failureClass: attempt.failureClass });
      if (p.step === 'record') {
        p.recordProblem = `The run record could not be written: ${why}`;
        nextStep('announce');
      } else if (p.step === 'announce') {
        p.announceProblem = attempt.failureClass === 'permanent' ? `The topic refused the ${ending.eventType} event: ${why}` : `The ${ending.eventType} event could not be published before the deadline: ${why}`;
        if (!p.record) return finish();
        nextStep('note');
      } else {
        return finish(`The run record could not note the event: ${why}`);
      }
      continue;
    }
    // The last attempt is made at the deadline, not skipped because the backoff would overshoot it.
    p.nextAttemptAt = (retryAt.getTime() < deadline.getTime() ? retryAt : deadline).toISOString();
    failedThisGeneration += 1;
    if (failedThisGeneration >= FAILED_ATTEMPTS_PER_GENERATION) {
      p.generation += 1;
      context.df.continueAsNew({ ...hooks.input, ending: { ...ending, progress: p } });
      return undefined;
    }
  }
}

function describeStep(step: RunEndingProgress['step'], eventType: string): string {
  return step === 'record' ? 'Writing the run record' : step === 'announce' ? `Publishing ${eventType}` : 'Noting the announcement in the run record';
}

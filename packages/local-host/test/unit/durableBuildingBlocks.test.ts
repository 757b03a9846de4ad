// The durable engine's smaller pieces: retry arithmetic, table keys and chunked payloads, the status
// timeline, the client binding the SDK builds its DurableClient from, and entity lock queueing.
import { nextRetry } from '../../src/durable/retryPolicy';
import { escapeTableKey, packText, unescapeTableKey, unpackText, PayloadTooLargeError } from '../../src/durable/tablePayloads';
import { historyTimeline } from '../../src/durable/instanceStatusView';
import { historyEvent } from '../../src/durable/historyEvents';
import { ManagementUrlBuilder, INSTANCE_ID_PLACEHOLDER } from '../../src/durable/managementUrls';
import { planEntityStep, entityHasWork } from '../../src/durable/entityBatch';
import type { Envelope, EntityRecord, InstanceMessage } from '../../src/durable/instanceModel';
import { parseOrchestratorFailure } from '../../src/durable/orchestratorActions';
import { failureDetailsOf, returnValueAsJson } from '../../src/durable/functionInvocations';

describe('retry arithmetic (the Durable Task Framework’s RetryInterceptor)', () => {
  const options = { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 5, backoffCoefficient: 2, maxRetryIntervalInMilliseconds: 5000 };

  it('backs off exponentially from the first interval and caps at the maximum interval', () => {
    expect([1, 2, 3, 4].map((f) => nextRetry(options, f, 0))).toEqual([
      { retry: true, delayInMs: 1000 },
      { retry: true, delayInMs: 2000 },
      { retry: true, delayInMs: 4000 },
      { retry: true, delayInMs: 5000 },
    ]);
  });

  it('stops after maxNumberOfAttempts and once retryTimeout has elapsed', () => {
    expect(nextRetry(options, 5, 0)).toEqual({ retry: false, why: 'attemptsExhausted' });
    expect(nextRetry({ ...options, retryTimeoutInMilliseconds: 3000 }, 1, 3000)).toEqual({ retry: false, why: 'retryTimeoutElapsed' });
    expect(nextRetry({ firstRetryIntervalInMilliseconds: 50, maxNumberOfAttempts: 3 }, 2, 0)).toEqual({ retry: true, delayInMs: 50 });
  });
});

describe('table payloads', () => {
  it('escapes the characters Table storage forbids in keys, reversibly', () => {
    const id = 'a/b\\c#d?e%f\u0001';
    const escaped = escapeTableKey(id);
    expect(['/', '\\', '#', '?', '\u0001'].some((c) => escaped.includes(c))).toBe(false);
    expect(unescapeTableKey(escaped)).toBe(id);
    expect(escapeTableKey('plain:id-1')).toBe('plain:id-1');
  });

  it('splits large JSON over numbered properties and refuses what cannot fit a row', () => {
    const text = JSON.stringify({ data: 'x'.repeat(70000) });
    const entity: Record<string, unknown> = {};
    packText(entity, 'Events', text, 'test');
    expect(entity.EventsChunks).toBe(3);
    expect(unpackText(entity, 'Events')).toBe(text);
    expect(() => packText({}, 'Big', 'y'.repeat(500000), 'The output of x')).toThrow(PayloadTooLargeError);
  });
});

describe('status timeline', () => {
  it('merges scheduling into completions and drops episode markers', () => {
    const t = new Date('2024-01-01T00:00:00Z');
    const timeline = historyTimeline(
      [
        historyEvent.orchestratorStarted(t),
        historyEvent.executionStarted(t, { name: 'Seq', input: '"in"', instanceId: 'i', executionId: 'e' }),
        historyEvent.taskScheduled(t, 0, 'SayHello', '"Tokyo"'),
        historyEvent.orchestratorCompleted(t),
        historyEvent.orchestratorStarted(t),
        historyEvent.taskCompleted(t, 0, '"Hello Tokyo!"'),
        historyEvent.taskScheduled(t, 1, 'SayHello', '"Oslo"'),
        historyEvent.orchestratorCompleted(t),
      ],
      true,
      true,
    );
    expect(timeline.map((e) => [e.EventType, e.FunctionName, e.Result ?? null])).toEqual([
      ['ExecutionStarted', 'Seq', null],
      ['TaskCompleted', 'SayHello', 'Hello Tokyo!'],
      ['TaskScheduled', 'SayHello', null],
    ]);
  });
});

describe('durable client binding', () => {
  it('is accepted by the unmodified DurableClient, whose check-status links reach the local host', async () => {
    const data = new ManagementUrlBuilder('http://127.0.0.1:7123', 'MyHub', 'k3y=').clientBinding();
    const { OrchestrationClientInputData } = require('durable-functions/lib/src/durableClient/OrchestrationClientInputData') as { OrchestrationClientInputData: { isOrchestrationClientInputData(v: unknown): boolean } };
    expect(OrchestrationClientInputData.isOrchestrationClientInputData(data)).toBe(true);
    const { DurableClient } = require('durable-functions/lib/src/durableClient/DurableClient') as { DurableClient: new (d: unknown) => { createHttpManagementPayload(id: string): Record<string, string> } };
    const payload = new DurableClient(data).createHttpManagementPayload('order-7');
    expect(payload.id).toBe('order-7');
    expect(payload.statusQueryGetUri).toBe('http://127.0.0.1:7123/runtime/webhooks/durabletask/instances/order-7?taskHub=MyHub&connection=Storage&code=k3y%3D');
    expect(payload.terminatePostUri).toContain('/instances/order-7/terminate?reason={text}&');
    // Every URL the client calls carries the system key: no keyless RPC base URL.
    expect('rpcBaseUrl' in data).toBe(false);
    expect(data.requiredQueryStringParameters).toBe('code=k3y%3D');
    for (const url of [...Object.values(data.creationUrls), ...Object.entries(data.managementUrls).filter(([k]) => k !== 'id').map(([, v]) => v)]) expect(url).toContain('code=k3y%3D');
    expect(data.managementUrls.id).toBe(INSTANCE_ID_PLACEHOLDER);
  });
});

describe('entity locks', () => {
  const op = (requestId: string, extra: Partial<Extract<InstanceMessage, { type: 'EntityOperation' }>> = {}): Envelope => ({
    id: requestId,
    durable: true,
    receivedAt: '',
    message: { type: 'EntityOperation', requestId, operation: 'add', signal: false, ...extra },
  });
  const fresh = (): EntityRecord => ({ exists: false, recentRequestIds: [] });

  it('runs operations in order as one batch', () => {
    const plan = planEntityStep('@counter@a', fresh(), [op('1', { parentInstanceId: 'o1' }), op('2', { signal: true })]);
    expect(plan.operations.map((o) => o.operation.requestId)).toEqual(['1', '2']);
  });

  it('admits only the holder’s operations while locked, forwards the lock and answers when all are held', () => {
    const acquire = op('L', { lock: 'acquire', lockSet: ['@counter@b'], parentInstanceId: 'o1', operation: '__lock' });
    const first = planEntityStep('@counter@a', fresh(), [acquire, op('other', { parentInstanceId: 'o2' })]);
    expect(first.record.lockedBy).toBe('o1');
    expect(first.outbound.map((o) => [o.target, o.message.type])).toEqual([['@counter@b', 'EntityOperation']]);
    expect(first.operations).toHaveLength(0);

    const blocked = [op('other', { parentInstanceId: 'o2' })];
    expect(entityHasWork(first.record, blocked)).toBe(false);
    const holder = planEntityStep('@counter@a', first.record, [...blocked, op('mine', { parentInstanceId: 'o1' })]);
    expect(holder.operations.map((o) => o.operation.requestId)).toEqual(['mine']);

    const last = planEntityStep('@counter@b', fresh(), [op('L', { lock: 'acquire', lockSet: [], parentInstanceId: 'o1', operation: '__lock' })]);
    expect(last.outbound.map((o) => [o.target, o.message.type])).toEqual([['o1', 'LockGranted']]);

    const released = planEntityStep('@counter@a', holder.record, [op('rel', { lock: 'release', parentInstanceId: 'o1', signal: true }), ...blocked]);
    expect(released.record.lockedBy).toBeUndefined();
    expect(entityHasWork(released.record, blocked)).toBe(true);
  });

  it('runs a redelivered operation once', () => {
    const plan = planEntityStep('@counter@a', { exists: true, recentRequestIds: ['1'] }, [op('1')]);
    expect(plan.operations).toHaveLength(0);
    expect(plan.consumed).toHaveLength(1);
  });
});

describe('what comes back from the app', () => {
  it('reads the orchestration state after the $OutOfProcData$ label', () => {
    const state = { isDone: false, actions: [[]], error: 'boom', schemaVersion: 3 };
    const parsed = parseOrchestratorFailure(new Error(`false\n\n$OutOfProcData$:${JSON.stringify(state)}`));
    expect(parsed.state?.error).toBe('boom');
    expect(parseOrchestratorFailure(new Error('plain')).state).toBeUndefined();
  });

  it('turns activity return values into JSON results and errors into FailureDetails', () => {
    expect(returnValueAsJson({ string: 'hi' })).toBe('"hi"');
    expect(returnValueAsJson({ json: '{"a":1}' })).toBe('{"a":1}');
    expect(returnValueAsJson({ int: 3 })).toBe('3');
    expect(returnValueAsJson(undefined)).toBe('null');
    const err = new RangeError('too far');
    expect(failureDetailsOf(err)).toMatchObject({ ErrorType: 'RangeError', ErrorMessage: 'too far' });
    const structured = new Error(JSON.stringify({ errorType: 'HttpError', errorMessage: '429', isNonRetriable: true, properties: { status: 429 } }));
    expect(failureDetailsOf(structured)).toMatchObject({ ErrorType: 'HttpError', ErrorMessage: '429', IsNonRetriable: true, Properties: { status: 429 } });
  });
});

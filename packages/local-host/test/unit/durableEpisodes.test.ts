// Episode bookkeeping against the real durable-functions replay: orchestrators run through the SDK's
// own executor (an in-test FunctionInvoker around its handlers), the engine's prepareEpisode and
// decideEpisode drive them, and the SDK finishing with the right result proves the engine numbered
// every task, retry timer and retry attempt as the SDK expects. No storage involved.
import * as df from 'durable-functions';
import { InvocationContext } from '@azure/functions';
import type { FunctionInvoker, InvocationOutcome, InvocationRequest, RegisteredFunction } from '../../src/host/contracts';
import { invokeOrchestrator } from '../../src/durable/functionInvocations';
import { prepareEpisode } from '../../src/durable/episodeInputs';
import { decideEpisode, EpisodeDecision } from '../../src/durable/episodeOutcome';
import { HistoryEvent, HistoryEventType } from '../../src/durable/historyEvents';
import { Envelope, InstanceMessage, InstanceState, newReplayState } from '../../src/durable/instanceModel';

const { createOrchestrator } = require('durable-functions/lib/src/util/testingUtils') as {
  createOrchestrator(fn: (context: df.OrchestrationContext) => Generator<unknown, unknown, unknown>): (trigger: unknown, context: InvocationContext) => Promise<unknown>;
};

type Orchestrator = (context: df.OrchestrationContext) => Generator<unknown, unknown, unknown>;

/** Runs orchestrators the way the host does: the binding as a JSON string in, the state as JSON out. */
class SdkInvoker implements FunctionInvoker {
  readonly #fns = new Map<string, (trigger: unknown, context: InvocationContext) => Promise<unknown>>();

  register(name: string, fn: Orchestrator): void {
    this.#fns.set(name.toLowerCase(), createOrchestrator(fn));
  }

  list(): RegisteredFunction[] {
    return [...this.#fns.keys()].map((name) => this.get(name)!);
  }

  get(name: string): RegisteredFunction | undefined {
    if (!this.#fns.has(name.toLowerCase())) return undefined;
    return { name, bindings: { trigger: { type: 'orchestrationTrigger', direction: 'in' } }, triggerName: 'trigger', triggerType: 'orchestrationtrigger' };
  }

  async invoke(name: string, request: InvocationRequest): Promise<InvocationOutcome> {
    const handler = this.#fns.get(name.toLowerCase())!;
    const trigger = JSON.parse(request.inputData[0].data!.string!) as unknown;
    try {
      const result = await handler(trigger, new InvocationContext({ functionName: name, invocationId: 'test' }));
      return { ok: true, response: { returnValue: { json: JSON.stringify(result) } } };
    } catch (err) {
      return { ok: false, error: err as Error };
    }
  }
}

/** One instance driven episode by episode, in memory. */
class Driver {
  state: InstanceState;
  history: HistoryEvent[] = [];
  last?: EpisodeDecision;
  #clock = Date.parse('2024-05-01T00:00:00Z');

  constructor(private readonly invoker: SdkInvoker, name: string, input?: unknown) {
    this.state = {
      instanceId: 'i1',
      kind: 'orchestration',
      name,
      executionId: 'e1',
      runtimeStatus: 'Pending',
      input: input === undefined ? undefined : JSON.stringify(input),
      createdTime: new Date(this.#clock).toISOString(),
      lastUpdatedTime: new Date(this.#clock).toISOString(),
      historyCount: 0,
      episodes: 0,
      replay: newReplayState(),
      version: 1,
    };
  }

  async episode(...messages: InstanceMessage[]): Promise<EpisodeDecision> {
    this.#clock += 1000;
    const now = new Date(this.#clock);
    const batch: Envelope[] = messages.map((message, i) => ({ id: `m${this.#clock}-${i}`, message, durable: false, receivedAt: now.toISOString() }));
    const prepared = prepareEpisode(this.state, this.history, batch, now);
    const outcome = await invokeOrchestrator(this.invoker, this.state, this.history, prepared.newEvents);
    const decision = decideEpisode(this.state, prepared, outcome);
    this.state = { ...this.state, replay: decision.replay, runtimeStatus: decision.status, output: decision.output, customStatus: decision.customStatus, historyCount: this.state.historyCount + decision.events.length };
    this.history.push(...decision.events.map((e) => ({ ...e, IsPlayed: true })));
    this.last = decision;
    return decision;
  }

  completed(taskId: number, value: unknown): InstanceMessage {
    return { type: 'TaskCompleted', executionId: 'e1', taskId, result: JSON.stringify(value) };
  }

  failed(taskId: number, message: string): InstanceMessage {
    return { type: 'TaskFailed', executionId: 'e1', taskId, failure: { ErrorType: 'Error', ErrorMessage: message } };
  }

  fired(timerId: number): InstanceMessage {
    return { type: 'TimerFired', executionId: 'e1', timerId, fireAt: new Date(this.#clock).toISOString() };
  }

  get output(): unknown {
    return this.state.output === undefined ? undefined : JSON.parse(this.state.output);
  }
}

const retry = (attempts: number): df.RetryOptions => new df.RetryOptions(100, attempts);

describe('task numbering mirrors the SDK', () => {
  it('numbers a sequence and completes it', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Seq', function* (ctx) {
      const a = yield ctx.df.callActivity('A', 'x');
      const b = yield ctx.df.callActivity('B', a);
      return [a, b];
    });
    const d = new Driver(sdk, 'Seq');
    expect((await d.episode()).work.activities).toEqual([{ taskId: 0, name: 'A', input: '"x"' }]);
    expect((await d.episode(d.completed(0, 'a'))).work.activities).toEqual([{ taskId: 1, name: 'B', input: '"a"' }]);
    await d.episode(d.completed(1, 'b'));
    expect(d.state.runtimeStatus).toBe('Completed');
    expect(d.output).toEqual(['a', 'b']);
    expect(d.history.filter((e) => e.EventType === HistoryEventType.OrchestratorStarted)).toHaveLength(3);
  });

  it('gives a retried task inside Task.all its retry timer and next attempt the IDs the SDK allocates', async () => {
    const sdk = new SdkInvoker();
    sdk.register('AllWithRetry', function* (ctx) {
      return yield ctx.df.Task.all([ctx.df.callActivityWithRetry('Flaky', retry(3)), ctx.df.callActivity('Plain')]);
    });
    const d = new Driver(sdk, 'AllWithRetry');
    expect((await d.episode()).work.activities.map((a) => a.taskId)).toEqual([0, 1]);
    // The plain completion and the retried failure arrive together: the failure's timer gets ID 2.
    const afterFailure = await d.episode(d.failed(0, 'first'), d.completed(1, 'plain'));
    expect(afterFailure.work.timers.map((t) => t.timerId)).toEqual([2]);
    expect(d.state.runtimeStatus).toBe('Running');
    const retried = await d.episode(d.fired(2));
    expect(retried.work.activities).toEqual([{ taskId: 3, name: 'Flaky', input: undefined }]);
    await d.episode(d.completed(3, 'flaky'));
    expect(d.state.runtimeStatus).toBe('Completed');
    expect(d.output).toEqual(['flaky', 'plain']);
  });

  it('numbers two retried tasks failing and retrying in the same episodes', async () => {
    const sdk = new SdkInvoker();
    sdk.register('TwoRetries', function* (ctx) {
      return yield ctx.df.Task.all([ctx.df.callActivityWithRetry('A', retry(2)), ctx.df.callActivityWithRetry('B', retry(2))]);
    });
    const d = new Driver(sdk, 'TwoRetries');
    await d.episode();
    expect((await d.episode(d.failed(1, 'b1'), d.failed(0, 'a1'))).work.timers.map((t) => t.timerId)).toEqual([2, 3]);
    // Timer 2 belongs to B (failed first), timer 3 to A.
    const attempts = await d.episode(d.fired(3), d.fired(2));
    expect(attempts.work.activities.map((a) => [a.taskId, a.name])).toEqual([
      [4, 'A'],
      [5, 'B'],
    ]);
    await d.episode(d.completed(5, 'b'), d.completed(4, 'a'));
    expect(d.output).toEqual(['a', 'b']);
  });

  it('fails the task after the last attempt once its final timer fires', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Exhausted', function* (ctx) {
      try {
        yield ctx.df.callActivityWithRetry('Bad', retry(2));
        return 'no';
      } catch (err) {
        return (err as Error).message;
      }
    });
    const d = new Driver(sdk, 'Exhausted');
    await d.episode();
    const t1 = (await d.episode(d.failed(0, 'one'))).work.timers[0];
    expect(t1.timerId).toBe(1);
    expect(Date.parse(t1.fireAt) - Date.parse(d.history.at(-1)!.Timestamp)).toBe(100);
    expect((await d.episode(d.fired(1))).work.activities[0].taskId).toBe(2);
    const last = await d.episode(d.failed(2, 'two'));
    expect(last.work.timers[0].timerId).toBe(3);
    await d.episode(d.fired(3));
    expect(d.state.runtimeStatus).toBe('Completed');
    expect(d.output).toBe('Error: two');
  });

  it('does not renumber an open task yielded again inside a new Task.any', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Poll', function* (ctx) {
      const job = ctx.df.callActivity('Long');
      for (let i = 0; ; i++) {
        const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 60000));
        const winner = yield ctx.df.Task.any([job, timer]);
        if (winner === job) {
          timer.cancel();
          return { result: job.result, polls: i };
        }
        ctx.df.setCustomStatus(`poll ${i}`);
      }
    });
    const d = new Driver(sdk, 'Poll');
    const first = await d.episode();
    expect(first.work.activities.map((a) => a.taskId)).toEqual([0]);
    expect(first.work.timers.map((t) => t.timerId)).toEqual([1]);
    const second = await d.episode(d.fired(1));
    expect(second.work.activities).toEqual([]);
    expect(second.work.timers.map((t) => t.timerId)).toEqual([2]);
    const done = await d.episode(d.completed(0, 42));
    expect(done.work.cancelTimers).toEqual([2]);
    expect(d.output).toEqual({ result: 42, polls: 1 });
  });

  it('cancels a timer the orchestrator cancelled after Task.any', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Approval', function* (ctx) {
      const event = ctx.df.waitForExternalEvent('Approve');
      const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 60000));
      const winner = yield ctx.df.Task.any([event, timer]);
      if (winner === event) timer.cancel();
      const more = yield ctx.df.waitForExternalEvent('More');
      return [event.result, more];
    });
    const d = new Driver(sdk, 'Approval');
    expect((await d.episode()).work.timers.map((t) => t.timerId)).toEqual([0]);
    const approved = await d.episode({ type: 'EventRaised', name: 'Approve', input: '"yes"' });
    expect(approved.work.cancelTimers).toEqual([0]);
    expect(d.state.replay.openTasks['0']).toBeUndefined();
    await d.episode({ type: 'EventRaised', name: 'More', input: '1' });
    expect(d.output).toEqual(['yes', 1]);
  });

  it('buffers an event raised before the orchestrator waits for it', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Late', function* (ctx) {
      yield ctx.df.callActivity('First');
      return yield ctx.df.waitForExternalEvent('Go');
    });
    const d = new Driver(sdk, 'Late');
    await d.episode();
    await d.episode({ type: 'EventRaised', name: 'Go', input: '"early"' });
    expect(d.state.runtimeStatus).toBe('Running');
    await d.episode(d.completed(0, null));
    expect(d.output).toBe('early');
  });

  it('counts entity signals and calls in the numbering', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Entities', function* (ctx) {
      const counter = new df.EntityId('Counter', 'k');
      ctx.df.signalEntity(counter, 'add', 1);
      const value = yield ctx.df.callEntity(counter, 'get');
      const after = yield ctx.df.callActivity('After', value);
      return after;
    });
    const d = new Driver(sdk, 'Entities');
    const first = await d.episode();
    expect(first.work.outbound.map((o) => [o.target, o.message.type, (o.message as { signal?: boolean }).signal])).toEqual([
      ['@counter@k', 'EntityOperation', true],
      ['@counter@k', 'EntityOperation', false],
    ]);
    const call = first.work.outbound[1].message as { requestId: string };
    const second = await d.episode({ type: 'EntityResponse', requestId: call.requestId, result: '7' });
    expect(second.work.activities).toEqual([{ taskId: 2, name: 'After', input: '7' }]);
    await d.episode(d.completed(2, 'done'));
    expect(d.output).toBe('done');
  });

  it('starts sub-orchestrations with generated and chosen instance IDs', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Parent', function* (ctx) {
      return yield ctx.df.Task.all([ctx.df.callSubOrchestrator('Child', 1), ctx.df.callSubOrchestrator('Child', 2, 'chosen')]);
    });
    const d = new Driver(sdk, 'Parent');
    const first = await d.episode();
    expect(first.work.outbound.map((o) => o.target)).toEqual(['i1:0000', 'chosen']);
    await d.episode({ type: 'SubOrchestrationCompleted', executionId: 'e1', taskId: 1, result: '"two"' }, { type: 'SubOrchestrationCompleted', executionId: 'e1', taskId: 0, result: '"one"' });
    expect(d.output).toEqual(['one', 'two']);
  });

  it('continues as new with the new input and drops stale completions', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Loop', function* (ctx) {
      const n = ctx.df.getInput() as number;
      yield ctx.df.callActivity('Tick', n);
      ctx.df.continueAsNew(n + 1);
      return undefined;
    });
    const d = new Driver(sdk, 'Loop', 0);
    await d.episode();
    const decision = await d.episode(d.completed(0, null), d.completed(0, 'duplicate'));
    expect(decision.status).toBe('ContinuedAsNew');
    expect(decision.continueAsNew).toEqual({ input: '1' });
  });
});

describe('failures and non-determinism', () => {
  it('fails the instance when the orchestrator changed between episodes, naming both steps', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Changing', function* (ctx) {
      yield ctx.df.callActivity('StepA');
      return yield ctx.df.callActivity('Next');
    });
    const d = new Driver(sdk, 'Changing');
    await d.episode();
    sdk.register('Changing', function* (ctx) {
      yield ctx.df.callActivity('StepB');
      return yield ctx.df.callActivity('Next');
    });
    const decision = await d.episode(d.completed(0, null));
    expect(decision.status).toBe('Failed');
    expect(decision.failureDetails?.ErrorType).toBe('NonDeterministicOrchestrationException');
    expect(JSON.parse(decision.output!)).toMatch(/step 1 of 'Changing' \(instance 'i1'\) was CallActivity 'StepA' when the history was recorded, but replay now produced CallActivity 'StepB'/);
  });

  it('reports an orchestrator that now stops before a recorded step', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Shrinking', function* (ctx) {
      yield ctx.df.callActivity('One');
      yield ctx.df.callActivity('Two');
      return 'done';
    });
    const d = new Driver(sdk, 'Shrinking');
    await d.episode();
    await d.episode(d.completed(0, null));
    sdk.register('Shrinking', function* (ctx) {
      yield ctx.df.callActivity('One');
      return 'early';
    });
    const decision = await d.episode(d.completed(1, null));
    expect(decision.status).toBe('Failed');
    expect(JSON.parse(decision.output!)).toMatch(/step 2 .* was CallActivity 'Two' when the history was recorded, but the orchestrator now completes without scheduling it/);
  });

  it('turns an orchestrator exception into Failed with its message', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Throws', function* (ctx) {
      yield ctx.df.callActivity('One');
      throw new TypeError('bad state');
    });
    const d = new Driver(sdk, 'Throws');
    await d.episode();
    const decision = await d.episode(d.completed(0, null));
    expect(decision.status).toBe('Failed');
    expect(JSON.parse(decision.output!)).toBe("Orchestrator function 'Throws' failed: bad state");
    expect(d.history.at(-2)).toMatchObject({ EventType: HistoryEventType.ExecutionCompleted, OrchestrationStatus: 'Failed' });
  });

  it('passes an activity failure to the orchestrator as a TaskFailedError with its details', async () => {
    const sdk = new SdkInvoker();
    sdk.register('Catches', function* (ctx) {
      try {
        yield ctx.df.callActivity('Bad');
        return null;
      } catch (err) {
        const e = err as { name: string; message: string; failureDetails: { errorType: string } };
        return { name: e.name, message: e.message, type: e.failureDetails.errorType };
      }
    });
    const d = new Driver(sdk, 'Catches');
    await d.episode();
    await d.episode({ type: 'TaskFailed', executionId: 'e1', taskId: 0, failure: { ErrorType: 'RangeError', ErrorMessage: 'out of range' } });
    expect(d.output).toEqual({ name: 'TaskFailedError', message: 'RangeError: out of range', type: 'RangeError' });
  });

  it('fails an orchestrator that is not registered with a clear message', async () => {
    const d = new Driver(new SdkInvoker(), 'Missing');
    const decision = await d.episode();
    expect(decision.status).toBe('Failed');
    expect(JSON.parse(decision.output!)).toMatch(/The function 'Missing' doesn't exist/);
  });
});

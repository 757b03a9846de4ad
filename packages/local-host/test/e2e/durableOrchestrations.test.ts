// The durable engine runs an unmodified Durable Functions app on the local host: every orchestration
// pattern of the acceptance list, driven by the unmodified DurableClient (and by the app's own HTTP
// starter through the durableClient binding), with persistence in Azurite.
import { startDurableHost, waitForStatus, historyOf, DurableHost } from './durableHarness';
import { waitUntil } from '@batchpilot/local-platform';

let d: DurableHost;
beforeAll(async () => {
  d = await startDurableHost('durable-basics');
});
afterAll(async () => {
  await d?.host.kill();
});

describe('orchestrations', () => {
  it('runs a hello sequence started through the app’s HTTP starter and answers the createCheckStatusResponse links', async () => {
    const res = await fetch(`${d.host.url}/api/orchestrators/HelloSequence/seq-1`, { method: 'POST', body: JSON.stringify(['Tokyo', 'Seattle', 'London']) });
    expect(res.status).toBe(202);
    const links = (await res.json()) as Record<string, string>;
    expect(links.id).toBe('seq-1');
    expect(res.headers.get('location')).toBe(links.statusQueryGetUri);
    expect(links.statusQueryGetUri.startsWith(`${d.host.url}/runtime/webhooks/durabletask/instances/seq-1?`)).toBe(true);

    const status = await waitForStatus(d.client, 'seq-1');
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual(['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
    const completed = historyOf(status).filter((e) => e.EventType === 'TaskCompleted');
    expect(completed.map((e) => [e.FunctionName, e.Result])).toEqual([
      ['SayHello', 'Hello Tokyo!'],
      ['SayHello', 'Hello Seattle!'],
      ['SayHello', 'Hello London!'],
    ]);

    const viaLink = await fetch(links.statusQueryGetUri);
    expect(viaLink.status).toBe(200);
    const body = (await viaLink.json()) as Record<string, unknown>;
    expect(body.runtimeStatus).toBe('Completed');

    const viaApp = await fetch(`${d.host.url}/api/status/seq-1`);
    const appView = (await viaApp.json()) as { runtimeStatus: string; history?: unknown[] };
    expect(appView.runtimeStatus).toBe('Completed');
    // The library's DurableOrchestrationStatus drops the extension's historyEvents, in Azure too.
    expect(appView.history).toBeUndefined();
  });

  it('names the instance in the host log line that starts each of its functions', async () => {
    await waitForStatus(d.client, 'seq-1');
    const line = await d.host.waitForLog((l) => /^Executing 'Functions\.SayHello' \(Reason='activitytrigger', InstanceId=seq-1, Id=[0-9a-f-]+\)$/.test(l.message));
    expect(line.functionName).toBe('SayHello');
  });

  it('answers status with historyEvents, and 202 with Location while running', async () => {
    const id = await d.client.startNew('WaitForever', { instanceId: 'waiting-status' });
    await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Running');
    const res = await d.call(`/instances/${id}?showHistory=true`);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toContain(`/instances/${id}`);
    const body = (await res.json()) as { historyEvents: unknown[]; history?: unknown[]; customStatus: { stage: string } };
    expect(body.historyEvents.length).toBeGreaterThan(0);
    expect(body.history).toBeUndefined();
    expect(body.customStatus.stage).toBe('waiting');
    await d.client.terminate(id, 'done with it');
  });

  it('fans out 200 activities and fans them back in', async () => {
    const id = await d.client.startNew('FanOutFanIn', { input: 200 });
    const status = await waitForStatus(d.client, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(200 * 201);
    expect(historyOf(status).filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(200);
  });

  it('retries a failing activity with backoff until it succeeds', async () => {
    const id = await d.client.startNew('RetryWithBackoff', { input: { failures: 2, maxAttempts: 5 } });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ key: id, attempts: 3 });
    const history = historyOf(status);
    expect(history.filter((e) => e.EventType === 'TaskFailed')).toHaveLength(2);
    expect(history.filter((e) => e.EventType === 'TimerFired')).toHaveLength(2);
    const failure = history.find((e) => e.EventType === 'TaskFailed')!;
    expect(failure.FailureDetails).toMatchObject({ ErrorType: 'Error', ErrorMessage: 'flaky failure 1 of 2' });
  });

  it('fails the task with the last error once the attempts are used up', async () => {
    const id = await d.client.startNew('RetryWithBackoff', { input: { failures: 5, maxAttempts: 2 } });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ failed: 'Error: flaky failure 2 of 5' });
  });

  it('fires a durable timer no earlier than its deadline', async () => {
    const id = await d.client.startNew('DurableTimer', { input: { delayInMs: 300 } });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ fired: true, notBefore: true });
    expect(historyOf(status).some((e) => e.EventType === 'TimerFired')).toBe(true);
  });

  it('waits for an external event with a timeout (Task.any): the event wins', async () => {
    const id = await d.client.startNew('ApprovalWithTimeout', { input: { timeoutInMs: 120000 } });
    const waiting = await waitForStatus(d.client, id, (s) => s.customStatus === 'waiting for approval');
    expect(waiting.runtimeStatus).toBe('Running');
    await d.client.raiseEvent(id, 'Approval', { by: 'ada' });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ approved: { by: 'ada' } });
    expect(status.customStatus).toBe('approved');
  });

  it('waits for an external event with a timeout (Task.any): the timer wins', async () => {
    const id = await d.client.startNew('ApprovalWithTimeout', { input: { timeoutInMs: 200 } });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ approved: false, timedOut: true });
    expect(status.customStatus).toBe('timed out');
  });

  it('buffers an event raised before the orchestrator waits for it', async () => {
    const id = await d.client.startNew('WaitForever', { instanceId: 'early-event' });
    await d.client.raiseEvent(id, 'Go', 'early');
    const status = await waitForStatus(d.client, id);
    expect(status.output).toBe('early');
  });

  it('runs sub-orchestrations with chosen and generated instance IDs and surfaces a child failure', async () => {
    const id = await d.client.startNew('ParentWithChildren', { instanceId: 'parent-1' });
    const status = await waitForStatus(d.client, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ greetings: ['Hello Paris!'], sum: 12, childError: 'RangeError: boom: from parent' });
    const named = await d.client.getStatus('parent-1-child');
    expect(named.runtimeStatus).toBe('Completed');
    const unnamed = await d.client.getStatus('parent-1:0001');
    expect(unnamed.output).toBe(12);
    // The two children run in parallel: either may finish first.
    expect(historyOf(status).filter((e) => e.EventType === 'SubOrchestrationInstanceCompleted').map((e) => e.FunctionName).sort()).toEqual(['FanOutFanIn', 'HelloSequence']);
  });

  it('continues as new with a fresh, bounded history', async () => {
    const id = await d.client.startNew('CountWithContinueAsNew', { input: { n: 0, until: 12 } });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ n: 12, last: 24 });
    expect(status.input).toEqual({ n: 12, until: 12 });
    expect(historyOf(status).length).toBeLessThanOrEqual(4);
  });

  it('reports orchestrator failures with the error, and activity failures with their details', async () => {
    const viaActivity = await waitForStatus(d.client, await d.client.startNew('FailsWithActivity', { input: 'x' }));
    expect(viaActivity.runtimeStatus).toBe('Failed');
    expect(viaActivity.output).toBe("Orchestrator function 'FailsWithActivity' failed: RangeError: boom: x");
    const failed = historyOf(viaActivity).find((e) => e.EventType === 'TaskFailed')!;
    expect(failed.FunctionName).toBe('Boom');
    expect(failed.FailureDetails).toMatchObject({ ErrorType: 'RangeError', ErrorMessage: 'boom: x' });

    const direct = await waitForStatus(d.client, await d.client.startNew('ThrowsItself'));
    expect(direct.runtimeStatus).toBe('Failed');
    expect(direct.output).toBe("Orchestrator function 'ThrowsItself' failed: the orchestrator gave up");
  });

  it('gives activities their instance ID in the trigger metadata as the string it is, even when it reads as JSON', async () => {
    const id = await d.client.startNew('EchoMetadata', { instanceId: '42' });
    expect((await waitForStatus(d.client, id)).output).toEqual({ value: '42', type: 'string' });
  });

  it('passes the version given to startNew to context.df.version', async () => {
    const id = await d.client.startNew('ReportsVersion', { version: '2.1' });
    expect((await waitForStatus(d.client, id)).output).toEqual({ version: '2.1', parent: null });
  });

  it('rewinds a failed instance so the failed activity runs again', async () => {
    const id = await d.client.startNew('FailsOnceThenRewound');
    expect((await waitForStatus(d.client, id)).runtimeStatus).toBe('Failed');
    await d.client.rewind(id, 'fixed it');
    const status = await waitForStatus(d.client, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ first: 'Hello before!', attempts: 2 });
  });
});

describe('management', () => {
  it('terminates a running instance and then answers 410 to events and a second terminate', async () => {
    const id = await d.client.startNew('WaitForever');
    await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Running');
    await d.client.terminate(id, 'operator said so');
    const status = await waitForStatus(d.client, id);
    expect(status.runtimeStatus).toBe('Terminated');
    expect(status.output).toBe('operator said so');
    expect((await d.call(`/instances/${id}/raiseEvent/Go`, { method: 'POST', body: '1' })).status).toBe(410);
    expect((await d.call(`/instances/${id}/terminate?reason=again`, { method: 'POST' })).status).toBe(410);
  });

  it('suspends and resumes: events wait while suspended', async () => {
    const id = await d.client.startNew('WaitForever');
    await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Running');
    await d.client.suspend(id, 'hold on');
    await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Suspended');
    await d.client.raiseEvent(id, 'Go', 'after resume');
    // Let the event arrive; the instance must stay suspended with it queued.
    await new Promise((r) => setTimeout(r, 300));
    expect((await d.client.getStatus(id)).runtimeStatus).toBe('Suspended');
    await d.client.resume(id, 'go on');
    const status = await waitForStatus(d.client, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe('after resume');
    expect(historyOf(status).map((e) => e.EventType)).toEqual(expect.arrayContaining(['ExecutionSuspended', 'ExecutionResumed']));
  });

  it('refuses to start an instance ID that is running and restarts one that finished', async () => {
    await d.client.startNew('WaitForever', { instanceId: 'dup-1' });
    await expect(d.client.startNew('WaitForever', { instanceId: 'dup-1' })).rejects.toThrow(/409/);
    await d.client.raiseEvent('dup-1', 'Go', 'first');
    expect((await waitForStatus(d.client, 'dup-1')).output).toBe('first');
    await d.client.startNew('HelloSequence', { instanceId: 'dup-1', input: ['Oslo'] });
    const second = await waitForStatus(d.client, 'dup-1', (s) => s.runtimeStatus === 'Completed' && s.name === 'HelloSequence');
    expect(second.output).toEqual(['Hello Oslo!']);
  });

  it('purges one instance, a running one, and instances by filter', async () => {
    const a = await d.client.startNew('HelloSequence', { instanceId: 'purge-a', input: ['A'] });
    await waitForStatus(d.client, a);
    expect((await d.client.purgeInstanceHistory(a)).instancesDeleted).toBe(1);
    await expect(d.client.getStatus(a)).rejects.toThrow(/404/);
    expect((await d.client.purgeInstanceHistory(a)).instancesDeleted).toBe(0);

    const running = await d.client.startNew('WaitForever', { instanceId: 'purge-running' });
    await waitForStatus(d.client, running, (s) => s.runtimeStatus === 'Running');
    expect((await d.client.purgeInstanceHistory(running)).instancesDeleted).toBe(1);
    await expect(d.client.getStatus(running)).rejects.toThrow(/404/);

    const from = new Date(Date.now() - 1000);
    const ids = await Promise.all([1, 2, 3].map((i) => d.client.startNew('HelloSequence', { instanceId: `purge-by-${i}`, input: [`P${i}`] })));
    for (const id of ids) await waitForStatus(d.client, id);
    const result = await d.client.purgeInstanceHistoryBy({ createdTimeFrom: from, runtimeStatus: ['Completed' as never] });
    expect(result.instancesDeleted).toBeGreaterThanOrEqual(3);
    for (const id of ids) await expect(d.client.getStatus(id)).rejects.toThrow(/404/);
  });

  it('queries instances by status and creation time, following continuation tokens', async () => {
    const from = new Date();
    const ids = await Promise.all([1, 2, 3, 4, 5].map((i) => d.client.startNew('HelloSequence', { instanceId: `query-${i}`, input: [`Q${i}`] })));
    for (const id of ids) await waitForStatus(d.client, id);
    const found = await d.client.getStatusBy({ createdTimeFrom: from, runtimeStatus: ['Completed' as never] });
    expect(found.map((item: { instanceId: string }) => item.instanceId)).toEqual(expect.arrayContaining(ids));

    const first = await d.call(`/instances/?instanceIdPrefix=query-&top=2`);
    expect(first.status).toBe(200);
    expect(((await first.json()) as unknown[]).length).toBe(2);
    const token = first.headers.get('x-ms-continuation-token');
    expect(token).toBeTruthy();
    const second = await d.call(`/instances/?instanceIdPrefix=query-&top=2`, { headers: { 'x-ms-continuation-token': token! } });
    expect(((await second.json()) as Array<{ instanceId: string }>).every((item) => item.instanceId.startsWith('query-'))).toBe(true);
  });
});

describe('entities', () => {
  it('runs an entity counter: signal and call from an orchestration, read and signal from the client', async () => {
    const key = `counter-${Date.now()}`;
    const id = await d.client.startNew('CounterWorkflow', { input: key });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toBe(15);
    const { EntityId } = await import('durable-functions');
    const entity = new EntityId('Counter', key);
    expect((await d.client.readEntityState<number>(entity)).entityState).toBe(15);
    await d.client.signalEntity(entity, 'add', 5);
    await waitUntil(async () => (await d.client.readEntityState<number>(entity)).entityState === 20, 'the counter to reach 20');
    expect((await d.client.readEntityState<number>(entity)).entityState).toBe(20);
    expect((await d.client.readEntityState(new EntityId('Counter', 'never-used'))).entityExists).toBe(false);
  });

  it('holds entity locks for a critical section', async () => {
    const id = await d.client.startNew('LockedTransfer', { input: `acct-${Date.now()}` });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ locked: true, from: -3, to: 3 });
  });
});

describe('the durable HTTP API needs the host key', () => {
  it('answers 401 without a key or with a wrong one, 403 to a foreign Origin, and serves callers with the key', async () => {
    const id = await d.client.startNew('WaitForever', { instanceId: 'keyed-1' });
    await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Running');
    const instance = `${d.rpc}/instances/${id}`;
    const code = encodeURIComponent(d.systemKey);

    expect((await fetch(instance)).status).toBe(401);
    expect((await fetch(`${instance}/terminate?reason=nokey`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${instance}/raiseEvent/Go`, { method: 'POST', body: '"nokey"' })).status).toBe(401);
    expect((await fetch(`${d.rpc}/orchestrators/HelloSequence`, { method: 'POST', body: '["nokey"]' })).status).toBe(401);
    expect((await fetch(`${d.rpc}/instances/`)).status).toBe(401);
    expect((await fetch(`${instance}?code=wrong`)).status).toBe(401);
    expect((await fetch(`${instance}/terminate?reason=wrongkey`, { method: 'POST', headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
    const unauthorised = await fetch(instance);
    expect(((await unauthorised.json()) as { error: { message: string } }).error.message).toMatch(/durabletask_extension/);

    // A browser page on another origin may hold a leaked link with the key; its requests are refused.
    const foreign = await fetch(`${instance}/terminate?reason=csrf&code=${code}`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toMatch(/evil\.example/);
    expect((await fetch(`${instance}?code=${code}`, { headers: { origin: 'null' } })).status).toBe(403);
    expect((await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Running')).runtimeStatus).toBe('Running');

    expect((await fetch(`${instance}?code=${code}`)).status).toBe(202);
    expect((await fetch(instance, { headers: { 'x-functions-key': d.systemKey, origin: d.host.url } })).status).toBe(202);
    expect((await fetch(instance, { headers: { 'x-functions-key': d.host.keys.masterKey } })).status).toBe(202);
    expect((await d.call(`/instances/${id}/raiseEvent/Go`, { method: 'POST', body: '"with the key"' })).status).toBe(202);
    const done = await waitForStatus(d.client, id);
    expect(done).toMatchObject({ runtimeStatus: 'Completed', output: 'with the key' });
  });
});

describe('bad input', () => {
  it('answers malformed JSON, unknown functions, instances and routes with specific 4xx and stays up', async () => {
    const malformed = await d.call(`/orchestrators/HelloSequence`, { method: 'POST', body: '{"oops"' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);

    const unknownFunction = await d.call(`/orchestrators/NoSuchOrchestrator`, { method: 'POST' });
    expect(unknownFunction.status).toBe(400);
    expect(((await unknownFunction.json()) as { error: { message: string } }).error.message).toMatch(/NoSuchOrchestrator.*doesn't exist/);

    const notAnOrchestrator = await d.call(`/orchestrators/SayHello`, { method: 'POST' });
    expect(notAnOrchestrator.status).toBe(400);

    expect((await d.call(`/instances/no-such-instance`)).status).toBe(404);
    expect((await d.call(`/instances/no-such-instance/raiseEvent/Go`, { method: 'POST', body: '1' })).status).toBe(404);
    expect((await d.call(`/instances/no-such-instance/terminate`, { method: 'POST' })).status).toBe(404);
    await expect(d.client.raiseEvent('no-such-instance', 'Go', 1)).rejects.toThrow(/No instance with ID/);

    const wrongMethod = await d.call(`/orchestrators/HelloSequence`, { method: 'GET' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await d.call(`/nowhere`)).status).toBe(404);
    expect((await d.call(`/instances/?runtimeStatus=Sleeping`)).status).toBe(400);
    expect((await d.call(`/instances/?createdTimeFrom=yesterday`)).status).toBe(400);
    expect((await fetch(`${d.rpc}/instances/x?code=wrong`)).status).toBe(401);
    expect((await d.call(`/instances/x?taskHub=OtherHub`)).status).toBe(404);
    const badEvent = await d.call(`/instances/seq-1/raiseEvent/Go`, { method: 'POST', body: 'not json' });
    expect(badEvent.status).toBe(400);
    expect((await d.call(`/orchestrators/HelloSequence/bad%2Fid`, { method: 'POST' })).status).toBe(400);
    const oversized = await d.call(`/orchestrators/HelloSequence`, { method: 'POST', body: JSON.stringify('x'.repeat(16 * 1024 * 1024)) });
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as { error: { message: string } }).error.message).toMatch(/by reference/);

    const still = await fetch(`${d.rpc}/instances/seq-1?code=${encodeURIComponent(d.systemKey)}`);
    expect(still.status).toBe(200);
  });
});

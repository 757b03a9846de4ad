// A restarted host serves nothing but its status before its durable engine has resumed the task hub:
// in Azure the Functions host is not reachable until its extensions started, and a request served
// earlier meets an engine that does not know its instances yet. Found by the soak: after a SIGKILL, a
// redelivered event restarted a partition's coalescer as a fresh instance, stranding a closed batch.
// The engine's start is held open here, so the request surely arrives while it runs.
import * as path from 'node:path';
import { startHostProcess } from '../../src/host/localHostProcess';
import { PACKAGE_ROOT } from '../support/packageRoot';
import { freePort } from '../support/freePort';
import { testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';
import { spawn, ChildProcess } from 'node:child_process';

const APP = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'durable-basics');
const HELD_HOST = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'held-engine-host', 'main.cjs');

/** The host on the app, its durable engine's start held until SIGUSR2 (test/fixtures/held-engine-host). */
function startHeldHost(dataDir: string, port: number, env: Record<string, string>): { child: ChildProcess; stage(name: string): Promise<void> } {
  const child = spawn(process.execPath, [HELD_HOST, APP, dataDir, String(port)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const stage = (name: string): Promise<void> =>
    waitUntil(() => {
      if (child.exitCode !== null) throw new Error(`The held host exited (${child.exitCode}): ${err}`);
      return out.includes(`{"stage":"${name}"}`);
    }, `the held host to reach ${name}`).then(() => undefined);
  return { child, stage };
}

let held: ChildProcess | undefined;
afterAll(() => {
  held?.kill('SIGKILL');
});
describe('a restarted host', () => {
  it('holds requests until its durable engine has resumed the task hub, so a repeated start of a running instance is refused, not begun afresh', async () => {
    const hub = uniqueName('hub');
    const dataDir = path.join(PACKAGE_ROOT, 'test', 'artifacts', hub, 'host');
    const env = { AzureWebJobsStorage: testAzurite().connectionString, DURABLE_TEST_HUB: hub };
    const first = await startHostProcess({ appDir: APP, dataDir, env });
    const key = encodeURIComponent(first.keys.systemKeys.durabletask_extension);
    const startUrl = (base: string): string => `${base}/runtime/webhooks/durabletask/orchestrators/WaitForever/held-1?code=${key}`;
    const statusOf = async (base: string): Promise<{ runtimeStatus: string; customStatus?: { stage?: string; since?: string } }> =>
      (await fetch(`${base}/runtime/webhooks/durabletask/instances/held-1?code=${key}`)).json() as never;
    expect((await fetch(startUrl(first.url), { method: 'POST', body: '{}' })).status).toBe(202);
    const before = await waitUntil(async () => {
      const s = await statusOf(first.url);
      return s.customStatus?.stage === 'waiting' ? s : undefined;
    }, 'the instance to wait for its event');
    await first.kill('SIGKILL');

    const port = await freePort();
    const restarted = startHeldHost(dataDir, port, env);
    held = restarted.child;
    // The host listens before it starts its engine, so the port is open by now.
    await restarted.stage('engine-starting');
    const url = `http://127.0.0.1:${port}`;
    const status = (await (await fetch(`${url}/admin/host/status`)).json()) as { state: string };
    expect(status.state).toBe('Starting');
    // The same start again, as a repeated delivery would send it, while the engine is still starting.
    let answered = false;
    const again = fetch(startUrl(url), { method: 'POST', body: '{}' }).then((res) => {
      answered = true;
      return res;
    });
    // The host's status answers while the engine starts, so the held request had every chance to be served.
    await fetch(`${url}/admin/host/status`);
    expect(answered).toBe(false);
    restarted.child.kill('SIGUSR2');
    await restarted.stage('started');
    expect((await again).status).toBe(409);
    const after = await statusOf(url);
    expect(after).toMatchObject({ runtimeStatus: 'Running', customStatus: { stage: 'waiting', since: before.customStatus?.since } });
    expect(((await (await fetch(`${url}/admin/host/status`)).json()) as { state: string }).state).toBe('Running');
  });
});

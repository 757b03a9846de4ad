// One soak: starts the whole local stack with seeded faults on ARM, the batch data plane, the app's
// storage calls (its blobs and its own tables) and the events topic, every event delivered 1..D times shuffled, some job events lost;
// sends the planned workload while a host killer SIGKILLs the Functions host in each phase of a run
// and restarts it on the same state; waits for everything to settle; then checks every logical input
// against the task hub, the runs container, the topic's subscriber, Azure ML and Event Grid.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, RunningLocalStack, FREE_PORTS, EVENTS_TOPIC } from '../../src/local/stack/localStack';
import { armClientFor, listDurableInstances } from '../../src/local/stack/stackClients';
import { spreadHttpFaults, seededRandom } from '@batchpilot/local-platform';
import { ARRIVALS_TABLE } from '../../src/azure/arrivalLedger';
import { acceptedRunsTableName } from '../../src/azure/runAcceptance';
import { PROMOTIONS_TABLE } from '../../src/azure/promotionLedger';
import { startWebhookReceiver, WebhookReceiver } from '@batchpilot/eventgrid-emulator';
import { fillerItem, planWorkload } from './workload';
import { WorkloadDriver } from './workloadDriver';
import { HostKiller } from './hostKiller';
import { observe, receivedOutcomeEvents, runOf, ObservedRun } from './observations';
import { checkSoak, soakRouteNames } from './soakChecks';
import type { FaultSummary, SoakResult, SoakSettings } from './soakReport';

export interface SoakOptions extends SoakSettings {
  /** Where the stack keeps its state; default a fresh temporary folder, removed afterwards. */
  stateDir?: string;
  /** How long to wait for every run to finish once everything is sent. */
  settleTimeoutInMs?: number;
  /** Multiplies the Azure ML emulator's simulated job phases. */
  jobTimeScale?: number;
  log?: (message: string) => void;
}

const OUTCOME_SUBSCRIPTION = 'soak-outcomes';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether every input sent has a finished run that announced itself, and no run is still going. */
function settledNow(driver: WorkloadDriver, runs: ObservedRun[], receiver: WebhookReceiver): { settled: boolean; why?: string } {
  const announced = new Set(receivedOutcomeEvents(receiver).map((e) => e.runId));
  const unfinished = runs.filter((r) => r.runtimeStatus !== 'Completed');
  if (unfinished.length > 0) return { settled: false, why: `${unfinished.length} runs still going (e.g. ${unfinished[0].runId}: ${JSON.stringify(unfinished[0].customStatus ?? null)})` };
  const silent = runs.filter((r) => !announced.has(r.runId));
  if (silent.length > 0) return { settled: false, why: `${silent.length} finished runs not announced yet (e.g. ${silent[0].runId})` };
  const versions = new Set(runs.flatMap((r) => r.files.map((f) => `${f.blobPath}@${f.eTag}`)));
  const waiting = driver.ledger.blobs.filter((b) => b.role === 'input' && !versions.has(`${b.blobPath}@${b.eTag}`));
  if (waiting.length > 0) return { settled: false, why: `${waiting.length} inputs without a run yet (e.g. ${waiting[0].blobPath})` };
  const models = driver.ledger.models.filter((m) => !runs.some((r) => r.model?.name === m.name && r.model.version === m.version));
  if (models.length > 0) return { settled: false, why: `${models.length} model versions without a run yet` };
  return { settled: true };
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => undefined);
  const startedAt = Date.now();
  const random = seededRandom(options.seed);
  const plan = planWorkload(options.runs, options.seed);
  const ownsState = !options.stateDir;
  const stateDir = options.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-soak-'));
  const receiver = await startWebhookReceiver('/soak/outcomes');
  // Every host's log, across kills: the evidence a violation is debugged from.
  const hostLogFile = path.join(stateDir, 'host.log');
  const hostLog = fs.createWriteStream(hostLogFile, { flags: 'a' });
  let keepState = false;
  const taskHub = `soak${options.seed}`;
  let stack: RunningLocalStack | undefined;
  let killer: HostKiller | undefined;
  try {
    stack = await startLocalStack({
      ports: FREE_PORTS,
      stateDir,
      persistAzurite: false,
      routesYaml: plan.routesYaml,
      taskHub,
      jobTimeScale: options.jobTimeScale ?? 0.3,
      eventGridDelivery: { timeScale: 0.01, shuffle: true, maxDeliveriesPerEvent: options.duplicates, seed: options.seed, maxConcurrentDeliveriesPerSubscription: 16 },
      storageFaults: options.faults > 0 ? { seed: options.seed + 1, http: spreadHttpFaults(options.faults) } : undefined,
      topicFaults: options.faults > 0 ? { seed: options.seed + 2, http: spreadHttpFaults(options.faults) } : undefined,
      tableFaults: options.faults > 0 ? { seed: options.seed + 4, http: spreadHttpFaults(options.faults), tables: [ARRIVALS_TABLE, PROMOTIONS_TABLE, acceptedRunsTableName(taskHub)] } : undefined,
      onHostLog: (line) => {
        hostLog.write(`${line}\n`);
        killer?.onHostLine(line);
      },
      log,
    });
    const running = stack;
    await running.eventGrid.addSubscription({
      name: OUTCOME_SUBSCRIPTION,
      topic: EVENTS_TOPIC,
      eventDeliverySchema: 'CloudEventSchemaV1_0',
      destination: { endpointType: 'WebHook', properties: { endpointUrl: receiver.url } },
    });
    const arm = armClientFor(running, { maxRetries: 12 });
    const outcomeSeen = (name: string, version: string): boolean => receiver.events<{ type: string; data?: { model?: { name?: string; version?: string } } }>().some((e) => /\.Model\.(Promoted|Rejected|Failed)$/.test(e.type) && e.data?.model?.name === name && String(e.data.model.version) === version);
    const driver = new WorkloadDriver(running, arm, outcomeSeen, log);
    await driver.createModelEndpoints(plan.modelEndpoints);

    // Faults on Azure ML start once the workspace is set up: the soak measures the app, not its own setup.
    running.azureMl.setFaults({
      seed: options.seed + 3,
      http: options.faults > 0 ? spreadHttpFaults(options.faults) : undefined,
      jobs: { failFraction: 0.05, preemptFraction: 0.07, missingOutputsFraction: 0.05 },
      jobEvents: { lossFraction: 0.2 },
      deployments: { failFraction: 0.04 },
    });
    killer = new HostKiller({ stack: running, random, kills: options.kills, log });
    const killsDone = killer.start();
    driver.startApproving();

    // The planned inputs, paced so that the kills spread over the workload.
    const durationInMs = Math.max(plan.items.length * 250, options.kills * 5000);
    const gapInMs = durationInMs / plan.items.length;
    for (const [i, item] of plan.items.entries()) {
      await driver.send(item);
      if ((i + 1) % 25 === 0 || i + 1 === plan.items.length) log(`soak: sent ${i + 1}/${plan.items.length} inputs, ${killer.kills.length}/${options.kills} kills`);
      await sleep(gapInMs * (0.5 + random.next()));
    }
    // Kills still owed need work to land in: keep a trickle of inputs going until they are made.
    let extra = 0;
    while (!killer.done && !killer.fatal) {
      await driver.send(fillerItem(options.seed, extra++));
      await sleep(1500);
    }
    await killsDone;
    if (killer.fatal) throw killer.fatal;
    log(`soak: all ${plan.items.length + extra} inputs sent, ${killer.kills.length} kills made; waiting for the model queue`);
    await driver.modelsSent();

    // Settle: every input has a finished, announced run, twice in a row.
    const deadline = Date.now() + (options.settleTimeoutInMs ?? 600_000);
    let settled = false;
    let calm = 0;
    let lastWhy = '';
    while (Date.now() < deadline) {
      try {
        const runs = (await listDurableInstances(running, { showInput: true })).map(runOf).filter((r): r is ObservedRun => r !== undefined);
        const state = settledNow(driver, runs, receiver);
        calm = state.settled ? calm + 1 : 0;
        const why = state.why ?? 'every input has a finished, announced run';
        if (why !== lastWhy) log(`soak: settling: ${why}`);
        lastWhy = why;
        if (calm >= 3) {
          settled = true;
          break;
        }
      } catch (err) {
        log(`soak: settling: ${(err as Error).message}`);
      }
      await sleep(2000);
    }
    await driver.stopApproving();
    await Promise.race([running.eventGrid.idle(), sleep(30_000)]);

    // The soak's own reads must not meet the faults it injected for the app.
    const mlStats = running.azureMl.faultStats();
    running.azureMl.setFaults({});
    const observations = await observe(running, arm, receiver, soakRouteNames(), EVENTS_TOPIC);
    const verdict = checkSoak(driver.ledger, observations);
    const deliveries = running.eventGrid.subscriptions().filter((s) => s.name !== OUTCOME_SUBSCRIPTION).flatMap((s) => running.eventGrid.deliveries(s.name)).filter((d) => d.outcome === 'Delivered');
    const faults: FaultSummary = {
      armAndDataPlane: mlStats,
      storage: running.storageFaultStats(),
      tables: running.tableFaultStats(),
      topic: running.eventGrid.publishFaultStats(),
      jobFaults: mlStats.jobFaults,
      lostJobEvents: mlStats.lostJobEvents,
      deploymentFaults: mlStats.deploymentFaults,
      deliveries: deliveries.length,
      duplicateDeliveries: deliveries.filter((d) => d.duplicate).length,
    };
    keepState = verdict.violations.length > 0;
    return {
      stateDir: keepState || !ownsState ? stateDir : undefined,
      settings: { runs: options.runs, kills: options.kills, faults: options.faults, duplicates: options.duplicates, seed: options.seed },
      verdict,
      kills: killer.kills,
      killsSurvived: killer.kills.filter((k) => k.restartInMs !== undefined).length,
      faults,
      durationInSeconds: Math.round((Date.now() - startedAt) / 1000),
      settled,
    };
  } catch (err) {
    keepState = true;
    throw new Error(`${(err as Error).message}\n(state and host log kept in ${stateDir})`, { cause: err });
  } finally {
    await killer?.stop();
    await stack?.stop();
    await receiver.close();
    await new Promise((r) => hostLog.end(r));
    // A clean soak leaves nothing behind; one with violations keeps its host log and state to debug.
    if (ownsState && !keepState) fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

// The durable engine benchmark's measuring process (bench/durableEngine.ts runs it as a child, since a
// process hosts one Functions app): the engine on the bench fixture app with Azurite, measured on
// 1,000 hello sequences, one long sequence, fan-outs of 1,000, then the same orchestrator episodes
// replayed by the SDK alone, without the engine or storage. On a machine shared with other work a
// single timing says little, so both are timed in rounds, each round the engine and then the SDK's
// replay of the same instances' episodes: HELLO_ROUNDS rounds of 1,000 hello sequences, FAN_OUT_ROUNDS
// of one fan-out. The median round counts (bench/durableEngine.ts).
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAzurite } from '@batchpilot/local-platform';
import { loadFunctionApp, LoadedApp, createDurableEngine, invokeActivity, invokeOrchestrator, HistoryEvent, HistoryEventType } from '@batchpilot/local-host';
import type { DurableEngine, InstanceState } from '@batchpilot/local-host';

export const RESULT_PREFIX = 'DURABLE_BENCH_RESULT ';
const FIXTURE = path.resolve(__dirname, '..', '..', 'packages', 'local-host', 'test', 'fixtures', 'durable-bench');
const FAN_OUT_ROUNDS = 5;
const HELLO_ROUNDS = 3;

export interface DurableBenchFigures {
  helloInstances: number;
  /** Per round: the engine's time for the hello sequences, and the SDK's replay of their episodes. */
  helloSeconds: number[];
  helloReplaySeconds: number[];
  latencyUnderLoadInMs: number[];
  sequenceSteps: number;
  sequenceSeconds: number;
  latencyAloneInMs: number[];
  fanOutActivities: number;
  /** Per round: the engine's time for one fan-out, and the SDK's replay of that instance's episodes. */
  fanOutSeconds: number[];
  fanOutReplaySeconds: number[];
  /** Per round: the episodes the fan-out took, and the same activity calls made alone (no engine, no storage). */
  fanOutEpisodes: number[];
  activityCallsSeconds: number[];
  episodes: number;
}

/** Events that arrive in an episode (the rest are what the episode decided). */
const EPISODE_INPUTS = new Set([
  HistoryEventType.ExecutionStarted,
  HistoryEventType.TaskCompleted,
  HistoryEventType.TaskFailed,
  HistoryEventType.TimerFired,
  HistoryEventType.EventRaised,
  HistoryEventType.SubOrchestrationInstanceCompleted,
  HistoryEventType.SubOrchestrationInstanceFailed,
]);

/** Splits a finished history into the episodes that produced it: what each one replayed and received. */
function episodesOf(history: HistoryEvent[]): Array<{ past: HistoryEvent[]; fresh: HistoryEvent[] }> {
  const episodes: Array<{ past: HistoryEvent[]; fresh: HistoryEvent[] }> = [];
  history.forEach((e, j) => {
    if (e.EventType !== HistoryEventType.OrchestratorStarted) return;
    let end = j + 1;
    while (end < history.length && EPISODE_INPUTS.has(history[end].EventType)) end++;
    episodes.push({ past: history.slice(0, j).map((p) => ({ ...p, IsPlayed: true })), fresh: history.slice(j, end).map((f) => ({ ...f, IsPlayed: false })) });
  });
  return episodes;
}

async function replaySeconds(app: LoadedApp, engine: DurableEngine, instanceIds: string[]): Promise<{ seconds: number; episodes: number }> {
  const work: Array<{ state: InstanceState; past: HistoryEvent[]; fresh: HistoryEvent[] }> = [];
  for (const id of instanceIds) {
    const found = await engine.getInstance(id, true);
    if (!found?.history) throw new Error(`Instance ${id} has no history to replay.`);
    for (const ep of episodesOf(found.history)) work.push({ state: found.state, ...ep });
  }
  const t0 = performance.now();
  for (const w of work) {
    const outcome = await invokeOrchestrator(app, w.state, w.past, w.fresh);
    if (outcome.kind !== 'state') throw new Error(`Replaying ${w.state.instanceId} failed: ${outcome.message}`);
  }
  return { seconds: (performance.now() - t0) / 1000, episodes: work.length };
}

/**
 * The fan-out's activity calls alone: `count` calls of the fixture's activity through the host's
 * invocation path (the @azure/functions model, as the engine makes them), `concurrency` at a time.
 */
async function activityCallsSeconds(app: LoadedApp, count: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const result = await invokeActivity(app, 'activity-calls', 'Increment', String(i));
        if (!result.ok) throw new Error(`The activity call ${i} failed: ${result.failure.ErrorMessage}`);
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  const hub = `bench${Date.now().toString(36)}`;
  const app = await loadFunctionApp(FIXTURE, { settings: { AzureWebJobsStorage: azurite.connectionString, DURABLE_TEST_HUB: hub }, logger: () => undefined });
  const waiters = new Map<string, () => void>();
  let latencies: number[] = [];
  const settings = app.hostJson.extensions?.durableTask ?? {};
  const durable = createDurableEngine({
    invoker: app,
    connectionString: azurite.connectionString,
    taskHubName: hub,
    maxConcurrentActivityFunctions: settings.maxConcurrentActivityFunctions,
    maxConcurrentOrchestratorFunctions: settings.maxConcurrentOrchestratorFunctions,
    // The benchmark drives the engine directly; its HTTP routes are not served.
    systemKey: '',
    authorizesKey: () => false,
    log: (level, message) => {
      if (level === 'error' || level === 'warning') process.stderr.write(`[${level}] ${message}\n`);
    },
    observer: {
      episodeStarted: (info) => latencies.push(...info.activityLatenciesInMs),
      instanceFinished: (state) => waiters.get(state.instanceId)?.(),
    },
  });
  const engine = durable.engine;
  await durable.start();

  const run = async (name: string, ids: string[], input?: unknown): Promise<number> => {
    const done = Promise.all(ids.map((id) => new Promise<void>((resolve) => waiters.set(id, resolve))));
    const t0 = performance.now();
    await Promise.all(ids.map((id) => engine.startOrchestration(name, { instanceId: id, input: input === undefined ? undefined : JSON.stringify(input) })));
    await done;
    return (performance.now() - t0) / 1000;
  };

  // Warm-up: JIT, table creation paths, connection pools.
  await run('HelloSequence', Array.from({ length: 50 }, (_, i) => `warm-${i}`));
  await run('FanOut', ['warm-fan'], 100);

  const helloInstances = 1000;
  const helloSeconds: number[] = [];
  const helloReplaySeconds: number[] = [];
  let latencyUnderLoadInMs: number[] = [];
  let episodes = 0;
  for (let round = 0; round < HELLO_ROUNDS; round++) {
    const ids = Array.from({ length: helloInstances }, (_, i) => `hello-${round}-${i}`);
    latencies = [];
    helloSeconds.push(await run('HelloSequence', ids));
    if (round === 0) latencyUnderLoadInMs = latencies;
    // Let the status rows land, so the next timing measures the engine (or the replay) alone.
    await engine.settle();
    const replay = await replaySeconds(app, engine, ids);
    helloReplaySeconds.push(replay.seconds);
    episodes = replay.episodes;
  }

  const sequenceSteps = 300;
  latencies = [];
  const sequenceSeconds = await run('LongSequence', ['sequence'], sequenceSteps);
  const latencyAloneInMs = latencies;

  await engine.settle();
  const fanOutActivities = 1000;
  // A new list: the one-instance latencies above keep theirs.
  latencies = [];
  const fanOutSeconds: number[] = [];
  const fanOutReplaySeconds: number[] = [];
  const fanOutEpisodes: number[] = [];
  const activityCalls: number[] = [];
  // The calls alone run as many at a time as the engine does.
  const activitySlots = settings.maxConcurrentActivityFunctions;
  if (!activitySlots) throw new Error(`The benchmark fixture's host.json must set durableTask.maxConcurrentActivityFunctions.`);
  for (let round = 0; round < FAN_OUT_ROUNDS; round++) {
    await engine.settle();
    fanOutSeconds.push(await run('FanOut', [`fan-out-${round}`], fanOutActivities));
    const replay = await replaySeconds(app, engine, [`fan-out-${round}`]);
    fanOutReplaySeconds.push(replay.seconds);
    fanOutEpisodes.push(replay.episodes);
    activityCalls.push(await activityCallsSeconds(app, fanOutActivities, activitySlots));
  }

  await durable.stop();
  await azurite.stop();
  const figures: DurableBenchFigures = {
    helloInstances,
    helloSeconds,
    helloReplaySeconds,
    latencyUnderLoadInMs,
    sequenceSteps,
    sequenceSeconds,
    latencyAloneInMs,
    fanOutActivities,
    fanOutSeconds,
    fanOutReplaySeconds,
    fanOutEpisodes,
    activityCallsSeconds: activityCalls,
    episodes,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
  process.exit(0);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}

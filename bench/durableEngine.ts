// Benchmark of the local durable engine with persistence in Azurite: orchestrations completed per
// second (1,000 hello sequences of 3 activities), sequential and fanned-out activities per second,
// the delay from an activity's completion to the episode it wakes, and the engine's throughput as a
// share of what the SDK's replay alone allows (the same episodes, no engine, no storage).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { BenchOptions, BenchSection } from './benchSection';
import type { DurableBenchFigures } from './durableEngineWorker';

const WORKER = path.join(__dirname, 'durableEngineWorker.js');
const RESULT_PREFIX = 'DURABLE_BENCH_RESULT ';
/** Azure Storage provider figures the issue quotes, per instance. */
const AZURE_STORAGE_SEQUENTIAL_PER_SECOND = 5;
const AZURE_STORAGE_PARALLEL_PER_SECOND = 100;

function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function measure(): Promise<DurableBenchFigures> {
  const child = spawn(process.execPath, [WORKER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) throw new Error(`The durable engine benchmark worker failed (exit ${code}):\n${err}${out}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as DurableBenchFigures;
}

/**
 * Per round, the engine and then replay alone ran one after the other: the rounds ordered by the
 * engine's share of replay alone, so the round in the middle is the one that counts.
 */
function byRatio(seconds: number[], replaySeconds: number[]): Array<{ seconds: number; replaySeconds: number; round: number }> {
  return seconds.map((s, i) => ({ seconds: s, replaySeconds: replaySeconds[i], round: i })).sort((a, b) => a.replaySeconds / a.seconds - b.replaySeconds / b.seconds);
}

export async function benchDurableEngine(_options: BenchOptions): Promise<BenchSection> {
  const f = await measure();
  const helloRounds = byRatio(f.helloSeconds, f.helloReplaySeconds);
  const helloMiddle = helloRounds[Math.floor(helloRounds.length / 2)];
  const helloRate = f.helloInstances / helloMiddle.seconds;
  const replayRate = f.helloInstances / helloMiddle.replaySeconds;
  const sequentialRate = f.sequenceSteps / f.sequenceSeconds;
  const rounds = byRatio(f.fanOutSeconds, f.fanOutReplaySeconds);
  const middle = rounds[Math.floor(rounds.length / 2)];
  const fanOutRate = f.fanOutActivities / middle.seconds;
  const fanOutReplayRate = f.fanOutActivities / middle.replaySeconds;
  // What replay alone leaves out: the fan-out's activity calls, made alone in the same round.
  const callsAlone = f.activityCallsSeconds[middle.round];
  const floorSeconds = middle.replaySeconds + callsAlone;
  return {
    title: 'Durable engine (Azurite persistence)',
    rows: [
      { name: 'hello sequences completed', value: helloRate, unit: 'orchestrations/s', note: `${f.helloInstances} instances × 3 activities in ${helloMiddle.seconds.toFixed(2)} s (median round of ${helloRounds.length})` },
      { name: 'SDK replay alone, same episodes', value: replayRate, unit: 'orchestrations/s', note: `${f.episodes} episodes in ${helloMiddle.replaySeconds.toFixed(2)} s, no engine or storage` },
      { name: 'engine / replay alone', value: helloRate / replayRate, unit: 'ratio', note: `rounds ${helloRounds.map((r) => (r.replaySeconds / r.seconds).toFixed(2)).join(' ')}`, goal: { kind: 'min', target: 0.25, label: 'engine: hello sequences per second as a share of SDK replay alone' } },
      { name: 'activities in one fan-out', value: fanOutRate, unit: 'activities/s', note: `${f.fanOutActivities} in ${middle.seconds.toFixed(2)} s (median round of ${rounds.length}); ${(fanOutRate / AZURE_STORAGE_PARALLEL_PER_SECOND).toFixed(1)}× the Azure Storage provider's ~${AZURE_STORAGE_PARALLEL_PER_SECOND}/s` },
      { name: 'fan-out: engine / replay alone', value: fanOutRate / fanOutReplayRate, unit: 'ratio', note: `replay alone ${fanOutReplayRate.toFixed(0)} activities/s; rounds ${rounds.map((r) => (r.replaySeconds / r.seconds).toFixed(2)).join(' ')}`, goal: { kind: 'min', target: 0.25, label: 'engine: fan-out as a share of SDK replay alone' } },
      { name: 'fan-out: episodes', value: f.fanOutEpisodes[middle.round], unit: 'episodes', note: `per round ${f.fanOutEpisodes.join(' ')}; replay alone replays these, so fewer episodes make it cheaper` },
      { name: 'fan-out: the 1,000 activity calls alone', value: f.fanOutActivities / callsAlone, unit: 'activities/s', note: `${(callsAlone * 1000).toFixed(1)} ms through the host's @azure/functions invocation path, no engine or storage; replay alone leaves them out` },
      { name: 'fan-out: engine / (replay + activity calls alone)', value: floorSeconds / middle.seconds, unit: 'ratio', note: `${(floorSeconds * 1000).toFixed(1)} of the engine's ${(middle.seconds * 1000).toFixed(1)} ms; the rest is storage and the engine` },
      { name: 'sequential activities, one instance', value: sequentialRate, unit: 'activities/s', note: `${f.sequenceSteps} steps; ${(sequentialRate / AZURE_STORAGE_SEQUENTIAL_PER_SECOND).toFixed(0)}× the Azure Storage provider's ~${AZURE_STORAGE_SEQUENTIAL_PER_SECOND}/s` },
      { name: 'completion → next episode, p50 (1,000 instances)', value: percentile(f.latencyUnderLoadInMs, 0.5), unit: 'ms' },
      { name: 'completion → next episode, p99 (1,000 instances)', value: percentile(f.latencyUnderLoadInMs, 0.99), unit: 'ms' },
      { name: 'completion → next episode, p50 (one instance)', value: percentile(f.latencyAloneInMs, 0.5), unit: 'ms' },
      { name: 'completion → next episode, p99 (one instance)', value: percentile(f.latencyAloneInMs, 0.99), unit: 'ms' },
    ],
  };
}

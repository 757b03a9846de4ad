// Prints a soak's result: the table of figures the issue asks for, where the kills landed, what the
// runs ended as, what the injected faults did, every violation with its evidence, and the last line
// `soak: N runs, K kills, V violations` that scripts read.
import type { SoakVerdict } from './soakChecks';
import type { KillRecord } from './hostKiller';
import { KILL_PHASES } from './hostKiller';

export interface SoakSettings {
  runs: number;
  kills: number;
  faults: number;
  duplicates: number;
  seed: number;
}

export interface FaultSummary {
  armAndDataPlane: { requests: number; throttled: number; serverErrors: number; dropped: number; droppedResponses: number };
  storage?: { requests: number; throttled: number; serverErrors: number; dropped: number; droppedResponses: number };
  tables?: { requests: number; throttled: number; serverErrors: number; dropped: number; droppedResponses: number };
  topic: { requests: number; throttled: number; serverErrors: number; dropped: number; droppedResponses: number };
  jobFaults: Record<string, number>;
  lostJobEvents: number;
  deploymentFaults: number;
  duplicateDeliveries: number;
  deliveries: number;
}

export interface SoakResult {
  settings: SoakSettings;
  verdict: SoakVerdict;
  kills: KillRecord[];
  killsSurvived: number;
  faults: FaultSummary;
  durationInSeconds: number;
  settled: boolean;
}

function row(label: string, value: string | number): string {
  return `  ${label.padEnd(44, ' ')}${String(value).padStart(8, ' ')}`;
}

function faultLine(name: string, f: FaultSummary['topic'] | undefined): string {
  if (!f) return `  ${name}: none`;
  const failed = f.throttled + f.serverErrors + f.dropped + f.droppedResponses;
  const share = f.requests > 0 ? ((100 * failed) / f.requests).toFixed(1) : '0.0';
  return `  ${name}: ${failed} of ${f.requests} calls failed (${share}%): ${f.throttled} throttled, ${f.serverErrors} server errors, ${f.dropped} reset before and ${f.droppedResponses} after the call took effect`;
}

export function formatSoakReport(r: SoakResult): string {
  const f = r.verdict.figures;
  const v = r.verdict.violations;
  const lines: string[] = [];
  lines.push(`soak: seed ${r.settings.seed}, ${r.settings.runs} planned inputs, ${r.settings.kills} kills asked, faults ${r.settings.faults}, deliveries 1..${r.settings.duplicates}; ${r.durationInSeconds} s${r.settled ? '' : ' (did not settle before the deadline)'}`);
  lines.push('');
  lines.push(row('inputs sent', `${f.inputsSent}`));
  lines.push(row('  blob versions / model versions', `${f.blobVersionsSent}/${f.modelVersionsSent}`));
  lines.push(row('runs', f.runs));
  lines.push(row('jobs submitted', f.jobsSubmitted));
  lines.push(row('duplicate jobs', f.duplicateJobs));
  lines.push(row('runs not in a final state', f.runsNotFinal));
  lines.push(row('runs without a run record', f.runsWithoutRecord));
  lines.push(row('runs without exactly one outcome event', f.runsWithoutOneOutcomeEvent));
  lines.push(row('orphan jobs (submitted, never adopted)', f.orphanJobs));
  lines.push(row('events dead-lettered', f.eventsDeadLettered));
  lines.push(row('host kills survived', `${r.killsSurvived}/${r.kills.length}`));
  lines.push(row('violations', v.length));
  lines.push('');
  const byPhase = KILL_PHASES.map((p) => {
    const hits = r.kills.filter((k) => k.phase === p);
    return `${p} ${hits.length}${hits.length > 0 ? ` (${hits.filter((k) => k.landedMidInvocation).length} mid-call)` : ''}`;
  });
  lines.push(`kills by phase: ${byPhase.join(', ')}`);
  const restarts = r.kills.map((k) => k.restartInMs).filter((ms): ms is number => ms !== undefined);
  if (restarts.length > 0) lines.push(`host restart after a kill: median ${[...restarts].sort((a, b) => a - b)[Math.floor(restarts.length / 2)]} ms, max ${Math.max(...restarts)} ms`);
  lines.push(`outcomes: ${Object.entries(f.outcomes).sort().map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  for (const x of f.failureReasons.slice(0, 12)) lines.push(`  ${String(x.runs).padStart(4, ' ')} × ${x.reason}`);
  lines.push(`outcome events: ${f.eventsPublished} accepted by the topic, ${f.eventDeliveries} deliveries to the soak's subscriber`);
  lines.push('faults injected:');
  lines.push(faultLine('ARM and batch data plane', r.faults.armAndDataPlane));
  lines.push(faultLine('storage (the app\'s blob calls; throttling is 503 ServerBusy)', r.faults.storage));
  lines.push(faultLine('the app\'s tables (arrivals and promotions ledgers)', r.faults.tables));
  lines.push(faultLine('events topic (publishing)', r.faults.topic));
  lines.push(`  jobs: ${Object.entries(r.faults.jobFaults).map(([k, n]) => `${n} ${k}`).join(', ')}; ${r.faults.lostJobEvents} job events lost; ${r.faults.deploymentFaults} deployments failed to provision`);
  lines.push(`  deliveries to the app: ${r.faults.deliveries} (${r.faults.duplicateDeliveries} of them repeats)`);
  if (v.length > 0) {
    lines.push('');
    lines.push(`violations (${v.length}):`);
    for (const x of v.slice(0, 200)) lines.push(`  [${x.kind}] ${x.subject}: ${x.detail}`);
    if (v.length > 200) lines.push(`  ... and ${v.length - 200} more`);
  }
  lines.push('');
  lines.push(`soak: ${f.runs} runs, ${r.killsSurvived} kills, ${v.length} violations`);
  return lines.join('\n');
}

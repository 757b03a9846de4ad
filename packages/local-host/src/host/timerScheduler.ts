// Timer triggers: NCRONTAB schedules (six fields, seconds first, UTC) and TimeSpan schedules
// (`hh:mm:ss`), `runOnStartup`, and the timer input the host passes (Schedule, ScheduleStatus, IsPastDue).
import cronParser = require('cron-parser');
import type { FunctionInvoker, HostService, RegisteredFunction } from './contracts';
import { resolveSettingReferences } from './appLoader';
import type { HostLogger } from './hostLog';

export class ScheduleError extends Error {}

export interface TimerSchedule {
  next(after: Date): Date;
  describe: string;
}

export function parseSchedule(expression: string): TimerSchedule {
  const text = expression.trim();
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(text);
  if (span) {
    const [, days, h, m, s] = span;
    const periodInMs = (((Number(days ?? 0) * 24 + Number(h)) * 60 + Number(m)) * 60 + Number(s)) * 1000;
    if (periodInMs <= 0) throw new ScheduleError(`Timer schedule '${expression}' must be a positive TimeSpan.`);
    return { describe: `every ${periodInMs / 1000}s`, next: (after) => new Date(after.getTime() + periodInMs) };
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleError(`Timer schedule '${expression}' must be an NCRONTAB expression with six fields ({second} {minute} {hour} {day} {month} {day-of-week}) or a TimeSpan (hh:mm:ss).`);
  }
  try {
    cronParser.parseExpression(text, { utc: true });
  } catch (err) {
    throw new ScheduleError(`Timer schedule '${expression}' is not a valid NCRONTAB expression: ${(err as Error).message}`);
  }
  return {
    describe: text,
    next: (after) => cronParser.parseExpression(text, { utc: true, currentDate: after }).next().toDate(),
  };
}

interface ArmedTimer {
  fn: RegisteredFunction;
  schedule: TimerSchedule;
  timer?: NodeJS.Timeout;
  last?: Date;
  running: boolean;
}

export class TimerScheduler implements HostService {
  readonly #timers: ArmedTimer[] = [];
  #stopped = false;

  constructor(private readonly invoker: FunctionInvoker, private readonly logger: HostLogger) {
    for (const fn of invoker.list().filter((f) => f.triggerType === 'timertrigger')) {
      const binding = fn.bindings[fn.triggerName] as Record<string, unknown>;
      const schedule = parseSchedule(resolveSettingReferences(String(binding.schedule ?? '')));
      this.#timers.push({ fn, schedule, running: false });
    }
  }

  describe(): Array<{ name: string; schedule: string }> {
    return this.#timers.map((t) => ({ name: t.fn.name, schedule: t.schedule.describe }));
  }

  async start(): Promise<void> {
    for (const t of this.#timers) {
      const binding = t.fn.bindings[t.fn.triggerName] as Record<string, unknown>;
      if (binding.runOnStartup === true) void this.fire(t, new Date(), false);
      this.#arm(t);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) if (t.timer) clearTimeout(t.timer);
  }

  /** Runs a timer function now, as the host's admin "run function" endpoint does. */
  async runNow(name: string): Promise<boolean> {
    const t = this.#timers.find((x) => x.fn.name.toLowerCase() === name.toLowerCase());
    if (!t) return false;
    await this.fire(t, new Date(), false);
    return true;
  }

  #arm(t: ArmedTimer): void {
    if (this.#stopped) return;
    const due = t.schedule.next(new Date());
    // setTimeout cannot wait longer than ~24.8 days; re-arm in steps.
    const delay = Math.min(Math.max(0, due.getTime() - Date.now()), 2 ** 31 - 1);
    t.timer = setTimeout(() => {
      if (Date.now() + 5 < due.getTime()) return this.#arm(t);
      void this.fire(t, due, Date.now() - due.getTime() > 60_000).finally(() => this.#arm(t));
    }, delay);
    t.timer.unref?.();
  }

  async fire(t: ArmedTimer, due: Date, isPastDue: boolean): Promise<void> {
    if (t.running) {
      this.logger({ level: 'warning', category: 'host', functionName: t.fn.name, message: 'Skipped a timer occurrence: the previous one is still running.' });
      return;
    }
    t.running = true;
    const input = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: { Last: (t.last ?? new Date(0)).toISOString(), Next: t.schedule.next(due).toISOString(), LastUpdated: new Date().toISOString() },
      IsPastDue: isPastDue,
    };
    try {
      const outcome = await this.invoker.invoke(t.fn.name, { inputData: [{ name: t.fn.triggerName, data: { json: JSON.stringify(input) } }] });
      if (!outcome.ok) this.logger({ level: 'error', category: 'host', functionName: t.fn.name, message: `Timer function failed: ${outcome.error.message}` });
    } finally {
      t.last = due;
      t.running = false;
    }
  }
}

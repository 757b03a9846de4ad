import { parseSchedule, ScheduleError } from '../../src/host/timerScheduler';

describe('timer schedules', () => {
  it('computes the next NCRONTAB occurrence with seconds, in UTC', () => {
    const s = parseSchedule('0 */5 * * * *');
    expect(s.next(new Date('2026-01-01T10:02:30Z')).toISOString()).toBe('2026-01-01T10:05:00.000Z');
    expect(parseSchedule('30 0 9 * * 1-5').next(new Date('2026-01-03T12:00:00Z')).toISOString()).toBe('2026-01-05T09:00:30.000Z');
  });

  it('accepts TimeSpan schedules', () => {
    expect(parseSchedule('00:01:30').next(new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-01T00:01:30.000Z');
    expect(parseSchedule('1.00:00:00').next(new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-02T00:00:00.000Z');
  });

  it('rejects five-field cron and nonsense with a clear message', () => {
    expect(() => parseSchedule('*/5 * * * *')).toThrow(ScheduleError);
    expect(() => parseSchedule('*/5 * * * *')).toThrow(/six fields/);
    expect(() => parseSchedule('0 0 25 * * *')).toThrow(/not a valid NCRONTAB/);
    expect(() => parseSchedule('00:00:00')).toThrow(/positive/);
  });
});

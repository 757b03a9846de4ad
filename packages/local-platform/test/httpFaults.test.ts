// The shared HTTP fault draws: seeded (same seed, same faults), shares as configured, lost responses as
// their own kind, Retry-After remembered so early repeats are counted, and settings checked.
import { HttpFaultInjector, spreadHttpFaults, validateHttpFaultSettings } from '../src/faults/httpFaults';

describe('seeded HTTP faults', () => {
  it('draws the same faults for the same seed and other faults for another', () => {
    const draws = (seed: number): string[] => {
      const f = new HttpFaultInjector(spreadHttpFaults(0.5), seed);
      return Array.from({ length: 40 }, (_, i) => f.draw(`GET /x/${i}`).kind);
    };
    expect(draws(7)).toEqual(draws(7));
    expect(draws(8)).not.toEqual(draws(7));
  });

  it('spreads one share over throttling, server errors and resets before and after the call', () => {
    const f = new HttpFaultInjector(spreadHttpFaults(0.4), 3);
    for (let i = 0; i < 5000; i++) f.draw(`GET /r/${i}`);
    const s = f.stats();
    const failed = s.throttled + s.serverErrors + s.dropped + s.droppedResponses;
    expect(failed / s.requests).toBeGreaterThan(0.36);
    expect(failed / s.requests).toBeLessThan(0.44);
    for (const n of [s.throttled, s.serverErrors, s.dropped, s.droppedResponses]) expect(n).toBeGreaterThan(0);
    expect(s.slowed).toBe(0);
  });

  it('announces Retry-After on 429 and 503 and counts a repeat before it as premature', () => {
    const f = new HttpFaultInjector({ throttleFraction: 1, retryAfterInSeconds: 2 }, 1);
    expect(f.draw('PUT /a', 1000)).toEqual({ kind: 'throttle', retryAfterInSeconds: 2 });
    f.draw('PUT /a', 1500);
    f.draw('PUT /a', 9000);
    expect(f.stats()).toMatchObject({ requests: 3, prematureRetries: 1, retriesAfterWaiting: 1 });
    const errors = new HttpFaultInjector({ serverErrorFraction: 1, serverErrorStatuses: [503] }, 1);
    expect(errors.draw('GET /b')).toEqual({ kind: 'serverError', status: 503, retryAfterInSeconds: 1 });
  });

  it('refuses shares out of range, adding up past 1, or server errors that are not 5xx', () => {
    expect(() => validateHttpFaultSettings({ dropResponseFraction: 1.5 })).toThrow(/http\.dropResponseFraction must be a number between 0 and 1/);
    expect(() => validateHttpFaultSettings({ throttleFraction: 0.6, dropResponseFraction: 0.6 })).toThrow(/add up to 1\.2/);
    expect(() => validateHttpFaultSettings({ serverErrorFraction: 0.1, serverErrorStatuses: [404] })).toThrow(/5xx/);
    expect(() => spreadHttpFaults(2)).toThrow(/between 0 and 1/);
  });
});

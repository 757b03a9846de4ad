// The Azure ML emulator's faults: its seeded draws of HTTP faults (through the shared injector of
// @batchpilot/local-platform) and the job events it loses on purpose.
import { FaultInjector } from '../../src/faultInjection';

describe('Azure ML emulator faults', () => {
  it("keep the Azure ML emulator's draws where they were: the same seed meets the same faults as before lost responses existed", () => {
    const ml = new FaultInjector({ seed: 5, http: { throttleFraction: 0.15, serverErrorFraction: 0.15, serverErrorStatuses: [503] } });
    const kinds = Array.from({ length: 12 }, (_, i) => ml.drawHttp('arm', `GET /j/${i}`).kind);
    // Recorded with the emulator's own generator before it moved to the shared module.
    expect(kinds).toEqual(EXPECTED_ML_DRAWS);
  });

  it('lets the Azure ML emulator lose a seeded share of job events, and only when asked', () => {
    const none = new FaultInjector({ seed: 2 });
    expect(Array.from({ length: 50 }, () => none.drawJobEventLoss()).some(Boolean)).toBe(false);
    const some = new FaultInjector({ seed: 2, jobEvents: { lossFraction: 0.5 } });
    const lost = Array.from({ length: 400 }, () => some.drawJobEventLoss()).filter(Boolean).length;
    expect(lost).toBeGreaterThan(150);
    expect(lost).toBeLessThan(250);
    expect(some.stats().lostJobEvents).toBe(lost);
    expect(() => new FaultInjector({ jobEvents: { lossFraction: 2 } })).toThrow(/jobEvents\.lossFraction/);
  });
});

const EXPECTED_ML_DRAWS = ["none", "none", "serverError", "throttle", "none", "none", "none", "none", "serverError", "none", "none", "throttle"];

// SLO windows (`7d`, `24h`, `90m`) as seconds: apart from the `slo:` section's schema
// (serviceLevelObjectives.ts), so the operator's health code reads windows without loading zod.

/** The longest window attainment is computed over; measurements are kept at least this long. */
export const MAX_SLO_WINDOW_IN_DAYS = 90;

const WINDOW_UNITS: Record<string, number> = { m: 60, h: 3600, d: 86400 };

/** Seconds in a window written as `<n>m`, `<n>h` or `<n>d` (7d, 24h); undefined when it is not one. */
export function windowInSeconds(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,3})([mhd])$/.exec(text.trim());
  return m ? Number(m[1]) * WINDOW_UNITS[m[2]] : undefined;
}

// Values that arrive from outside (event fields, blob URLs and names, manifest entries) are quoted in log
// lines and error messages through `clip`, so a hostile or careless sender can neither blow up a log
// line with a 10,000-character URL nor break one in two with a newline.

/** Enough to recognise a URL or a blob name; the rest is counted, not copied. */
export const MAX_QUOTED_CHARS = 200;

// eslint-disable-next-line no-control-regex -- control characters are what this pattern is for
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeControl(c: string): string {
  return NAMED_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Any value as text without running code it carries: JSON parsed from a hostile sender can hold
 * `{"toString": 1}`, which String() throws on. Objects and arrays read as their JSON.
 */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return String(value);
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The value as text fit to quote: control characters escaped, cut after `maxChars` with a count of the rest. */
export function clip(value: unknown, maxChars: number = MAX_QUOTED_CHARS): string {
  const text = textOf(value);
  // Never cut between the halves of a surrogate pair.
  const cut = text.length > maxChars && /[\ud800-\udbff]/.test(text[maxChars - 1]) ? maxChars - 1 : maxChars;
  const head = text.slice(0, cut);
  const shown = head.replace(CONTROL_CHARACTERS, escapeControl);
  return text.length > cut ? `${shown}… (${(text.length - cut).toLocaleString('en-US')} more characters)` : shown;
}

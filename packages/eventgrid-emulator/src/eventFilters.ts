// Event subscription filters as Event Grid evaluates them: included event types, subject begins/ends
// with (case-insensitive unless asked otherwise), and advanced filters on any key of the event as
// published (`data.api`, `subject`, `eventType`, `type`, `source`...). All conditions must hold.
// Semantics worth knowing (from the Event Grid filtering docs): string comparisons ignore case; a key
// that is missing fails every positive operator but satisfies the "Not" operators and IsNullOrUndefined;
// arrays are searched element by element only when enableAdvancedFilteringOnArrays is set.

import { StoredEvent, eventTypeOf, isPlainObject, subjectOf } from './eventShapes';

export type StringOperator =
  | 'StringIn' | 'StringNotIn' | 'StringBeginsWith' | 'StringNotBeginsWith'
  | 'StringEndsWith' | 'StringNotEndsWith' | 'StringContains' | 'StringNotContains';
export type NumberListOperator = 'NumberIn' | 'NumberNotIn';
export type NumberOperator = 'NumberLessThan' | 'NumberGreaterThan' | 'NumberLessThanOrEquals' | 'NumberGreaterThanOrEquals';
export type NumberRangeOperator = 'NumberInRange' | 'NumberNotInRange';

export type AdvancedFilter =
  | { operatorType: StringOperator; key: string; values: string[] }
  | { operatorType: NumberListOperator; key: string; values: number[] }
  | { operatorType: NumberOperator; key: string; value: number }
  | { operatorType: NumberRangeOperator; key: string; values: Array<[number, number]> }
  | { operatorType: 'BoolEquals'; key: string; value: boolean }
  | { operatorType: 'IsNullOrUndefined' | 'IsNotNull'; key: string };

export interface SubscriptionFilter {
  includedEventTypes?: string[] | null;
  subjectBeginsWith?: string;
  subjectEndsWith?: string;
  isSubjectCaseSensitive?: boolean;
  enableAdvancedFilteringOnArrays?: boolean;
  advancedFilters?: AdvancedFilter[];
}

const NEGATED = new Set<string>([
  'StringNotIn', 'StringNotBeginsWith', 'StringNotEndsWith', 'StringNotContains', 'NumberNotIn', 'NumberNotInRange',
]);

/** Reads `key` (dot-separated) from the event as published; data keys fall back to a case-insensitive match. */
export function readFilterKey(stored: StoredEvent, key: string): unknown {
  let current: unknown = stored.event;
  for (const part of key.split('.')) {
    if (!isPlainObject(current)) return undefined;
    if (part in current) {
      current = current[part];
      continue;
    }
    const lower = part.toLowerCase();
    const match = Object.keys(current).find((k) => k.toLowerCase() === lower);
    current = match === undefined ? undefined : current[match];
  }
  return current;
}

function matchesOne(filter: AdvancedFilter, value: unknown): boolean {
  switch (filter.operatorType) {
    case 'StringIn':
    case 'StringNotIn':
      return typeof value === 'string' && filter.values.some((v) => v.toLowerCase() === value.toLowerCase());
    case 'StringBeginsWith':
    case 'StringNotBeginsWith':
      return typeof value === 'string' && filter.values.some((v) => value.toLowerCase().startsWith(v.toLowerCase()));
    case 'StringEndsWith':
    case 'StringNotEndsWith':
      return typeof value === 'string' && filter.values.some((v) => value.toLowerCase().endsWith(v.toLowerCase()));
    case 'StringContains':
    case 'StringNotContains':
      return typeof value === 'string' && filter.values.some((v) => value.toLowerCase().includes(v.toLowerCase()));
    case 'NumberIn':
    case 'NumberNotIn':
      return typeof value === 'number' && filter.values.includes(value);
    case 'NumberInRange':
    case 'NumberNotInRange':
      return typeof value === 'number' && filter.values.some(([low, high]) => value >= low && value <= high);
    case 'NumberLessThan':
      return typeof value === 'number' && value < filter.value;
    case 'NumberGreaterThan':
      return typeof value === 'number' && value > filter.value;
    case 'NumberLessThanOrEquals':
      return typeof value === 'number' && value <= filter.value;
    case 'NumberGreaterThanOrEquals':
      return typeof value === 'number' && value >= filter.value;
    case 'BoolEquals':
      return typeof value === 'boolean' && value === filter.value;
    case 'IsNullOrUndefined':
      return value === null || value === undefined;
    case 'IsNotNull':
      return value !== null && value !== undefined;
  }
}

export function advancedFilterMatches(filter: AdvancedFilter, stored: StoredEvent, onArrays: boolean): boolean {
  const value = readFilterKey(stored, filter.key);
  const negated = NEGATED.has(filter.operatorType);
  if (filter.operatorType === 'IsNullOrUndefined' || filter.operatorType === 'IsNotNull') return matchesOne(filter, value);
  if (value === undefined || value === null) return negated;
  const candidates = Array.isArray(value) ? (onArrays ? value : []) : [value];
  const anyMatches = candidates.some((candidate) => matchesOne(filter, candidate));
  return negated ? !anyMatches : anyMatches;
}

export function subscriptionFilterMatches(filter: SubscriptionFilter | undefined, stored: StoredEvent): boolean {
  if (!filter) return true;
  const eventType = eventTypeOf(stored);
  if (filter.includedEventTypes && filter.includedEventTypes.length > 0 &&
      !filter.includedEventTypes.some((t) => t.toLowerCase() === eventType.toLowerCase())) {
    return false;
  }
  const caseSensitive = filter.isSubjectCaseSensitive === true;
  const fold = (s: string): string => (caseSensitive ? s : s.toLowerCase());
  const subject = fold(subjectOf(stored));
  if (filter.subjectBeginsWith && !subject.startsWith(fold(filter.subjectBeginsWith))) return false;
  if (filter.subjectEndsWith && !subject.endsWith(fold(filter.subjectEndsWith))) return false;
  const onArrays = filter.enableAdvancedFilteringOnArrays === true;
  return (filter.advancedFilters ?? []).every((f) => advancedFilterMatches(f, stored, onArrays));
}

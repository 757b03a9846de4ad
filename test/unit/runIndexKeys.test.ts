// The run index's key scheme: key order is newest first, versions order a run's states whatever the
// writers' clocks, keys hold any run ID and route safely, and a counted time range splits into whole
// months, whole days and partial days exactly.
import {
  counterKeys,
  dayStartMs,
  entryPartition,
  ENTRY_SHARDS,
  escapeKeyPart,
  indexVersion,
  invertedMonth,
  isNewerVersion,
  parsePlacementId,
  parseViewRowKey,
  placementId,
  planCount,
  previousMonth,
  rowKeyAtOrBefore,
  rowKeyPast,
  runIndexTableNames,
  unescapeKeyPart,
  utcDay,
  viewPartitionKey,
  viewPlacements,
  viewRowKey,
} from '../../src/azure/runIndexKeys';

const at = (iso: string): number => Date.parse(iso);

describe('the run index key scheme', () => {
  it('orders view rows newest first, ties by run ID, and reads them back', () => {
    const keys = [viewRowKey(at('2026-03-01T00:00:00Z'), 'bp-a-2'), viewRowKey(at('2026-03-01T00:00:00.001Z'), 'bp-a-1'), viewRowKey(at('2026-03-01T00:00:00Z'), 'bp-a-3'), viewRowKey(at('2025-12-31T23:59:59.999Z'), 'bp-a-0')];
    expect([...keys].sort()).toEqual([keys[1], keys[0], keys[2], keys[3]]);
    expect(parseViewRowKey(keys[1])).toEqual({ createdMs: at('2026-03-01T00:00:00.001Z'), runId: 'bp-a-1' });
    expect(() => parseViewRowKey('nonsense')).toThrow(/not a run index row key/);
  });

  it('orders view partitions newest month first, and bounds rows by time inclusively', () => {
    expect([viewPartitionKey('byRoute', 'alpha', '202601'), viewPartitionKey('byRoute', 'alpha', '202512'), viewPartitionKey('byRoute', 'alpha', '202603')].sort()).toEqual(['alpha~797396', 'alpha~797398', 'alpha~797487']);
    expect(invertedMonth('202603')).toBe('797396');
    expect(previousMonth('202601')).toBe('202512');
    expect(previousMonth('202610')).toBe('202609');
    const t = at('2026-03-01T10:00:00Z');
    const row = viewRowKey(t, 'bp-x');
    // Created at t: within "up to t" and "from t", not within "up to t − 1 ms" or "from t + 1 ms".
    expect(row >= rowKeyAtOrBefore(t) && row < rowKeyPast(t)).toBe(true);
    expect(row >= rowKeyAtOrBefore(t - 1)).toBe(false);
    expect(row < rowKeyPast(t + 1)).toBe(false);
  });

  it('puts a run in one view row per view, moving only the status one when its status changes', () => {
    const created = at('2026-02-14T09:00:00Z');
    const running = viewPlacements({ route: 'alpha', status: 'Running', kind: 'blob' }, created).map(placementId);
    const done = viewPlacements({ route: 'alpha', status: 'Failed', kind: 'blob' }, created).map(placementId);
    expect(running).toEqual(['byTime/797397', 'byRoute/alpha~797397', 'byStatus/Running~797397', 'byKind/blob~797397']);
    expect(done.filter((p) => !running.includes(p))).toEqual(['byStatus/Failed~797397']);
    expect(parsePlacementId('byRoute/alpha~797397')).toEqual({ view: 'byRoute', partitionKey: 'alpha~797397' });
    expect(() => parsePlacementId('elsewhere/x')).toThrow(/not a run index view placement/);
  });

  it('versions by stage first: a finished state beats any running one, running beats announced, whatever the clocks', () => {
    const late = at('2030-01-01T00:00:00Z');
    const early = at('2026-01-01T00:00:00Z');
    expect(isNewerVersion(indexVersion('Completed', early), indexVersion('Running', late))).toBe(true);
    expect(isNewerVersion(indexVersion('Running', early), indexVersion('Pending', late))).toBe(true);
    expect(isNewerVersion(indexVersion('Running', late), indexVersion('Terminated', early))).toBe(false);
    // Within a stage the clock decides, then the sequence number of writes in one millisecond.
    expect(isNewerVersion(indexVersion('Running', early + 1), indexVersion('AwaitingApproval', early, 7))).toBe(true);
    expect(isNewerVersion(indexVersion('Running', early, 2), indexVersion('AwaitingApproval', early, 1))).toBe(true);
    expect(isNewerVersion(indexVersion('Running', early, 1), indexVersion('Running', early, 1))).toBe(false);
    expect(isNewerVersion(indexVersion('Pending', early), undefined)).toBe(true);
    expect(() => indexVersion('Running', -1)).toThrow(/not a millisecond timestamp/);
    expect(() => indexVersion('Running', 1, 10_000)).toThrow(/sequence/);
  });

  it('escapes what Table keys refuse, and the separator, reversibly', () => {
    for (const text of ['bp-alpha-1', 'a/b\\c#d?e~f%g', 'tab\there', 'ünïcode', 'del\u007f']) {
      const escaped = escapeKeyPart(text);
      expect([...escaped].filter((ch) => '/\\#?~'.includes(ch) || ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) <= 0x9f))).toEqual([]);
      expect(unescapeKeyPart(escaped)).toBe(text);
    }
    expect(viewRowKey(0, 'odd/id~1')).toBe('9999999999999~odd%2Fid%7E1');
    expect(parseViewRowKey('9999999999999~odd%2Fid%7E1').runId).toBe('odd/id~1');
  });

  it('spreads entries over the shards by run ID, stably', () => {
    const shards = new Set(Array.from({ length: 200 }, (_, i) => entryPartition(`bp-alpha-${i}`)));
    expect(shards.size).toBe(ENTRY_SHARDS);
    expect(entryPartition('bp-alpha-7')).toBe(entryPartition('bp-alpha-7'));
  });

  it('counts a run in its all-time, creation month and creation day rows', () => {
    expect(counterKeys('alpha', 'blob', at('2026-02-28T23:59:59.999Z'))).toEqual(['n~a~alpha~blob', 'n~m~202602~alpha~blob', 'n~d~20260228~alpha~blob']);
    expect(counterKeys(undefined, 'rollback', at('2026-03-01T00:00:00Z'))).toEqual(['n~a~-~rollback', 'n~m~202603~-~rollback', 'n~d~20260301~-~rollback']);
  });

  it('splits a counted time range into whole months, whole days and partial days', () => {
    // Mid-day to mid-day across two month boundaries.
    expect(planCount(at('2026-01-20T10:00:00Z'), at('2026-03-05T06:00:00Z'))).toEqual({
      months: { first: '202602', last: '202602' },
      days: [
        { first: '20260121', last: '20260131' },
        { first: '20260301', last: '20260304' },
      ],
      edges: [
        { fromMs: at('2026-01-20T10:00:00Z'), toMs: at('2026-01-21T00:00:00Z') - 1 },
        { fromMs: at('2026-03-05T00:00:00Z'), toMs: at('2026-03-05T06:00:00Z') },
      ],
    });
    // Whole months exactly.
    expect(planCount(at('2026-01-01T00:00:00Z'), at('2026-03-01T00:00:00Z') - 1)).toEqual({ months: { first: '202601', last: '202602' }, days: [], edges: [] });
    // Inside one day.
    expect(planCount(at('2026-01-20T10:00:00Z'), at('2026-01-20T11:00:00Z'))).toEqual({ days: [], edges: [{ fromMs: at('2026-01-20T10:00:00Z'), toMs: at('2026-01-20T11:00:00Z') }] });
    // Whole days inside one month.
    expect(planCount(at('2026-01-20T00:00:00Z'), at('2026-01-23T00:00:00Z') - 1)).toEqual({ days: [{ first: '20260120', last: '20260122' }], edges: [] });
    expect(planCount(10, 5)).toEqual({ days: [], edges: [] });
    expect(utcDay(dayStartMs('20260228'))).toBe('20260228');
  });

  it('names the tables after the task hub and refuses a hub name Table storage could not take', () => {
    expect(runIndexTableNames('batchpilot')).toEqual({ entries: 'batchpilotRuns', byTime: 'batchpilotRunsByTime', byRoute: 'batchpilotRunsByRoute', byStatus: 'batchpilotRunsByStatus', byKind: 'batchpilotRunsByKind' });
    expect(() => runIndexTableNames('my-hub')).toThrow(/letters and digits/);
  });
});

// The local host's log sink: one line per entry, as Core Tools prints them, or JSON lines when
// LOCAL_HOST_LOG_FORMAT=json (what the tests and the stack launcher parse).
export type HostLogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

export interface HostLogEntry {
  level: HostLogLevel;
  category: 'host' | 'user' | 'system' | 'customMetric';
  message: string;
  functionName?: string;
  invocationId?: string;
}

export type HostLogger = (entry: HostLogEntry) => void;

const LEVEL_RANK: Record<HostLogLevel, number> = { trace: 0, debug: 1, information: 2, warning: 3, error: 4, critical: 5, none: 6 };

export function createHostLogger(options: { json?: boolean; minLevel?: HostLogLevel; write?: (line: string) => void } = {}): HostLogger {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const min = LEVEL_RANK[options.minLevel ?? 'information'];
  return (entry) => {
    if (LEVEL_RANK[entry.level] < min) return;
    const time = new Date().toISOString();
    if (options.json) {
      write(JSON.stringify({ time, ...entry }));
    } else {
      const where = entry.functionName ? ` ${entry.functionName}${entry.invocationId ? ` (${entry.invocationId.slice(0, 8)})` : ''}:` : '';
      write(`[${time}] [${entry.level}]${where} ${entry.message}`);
    }
  };
}

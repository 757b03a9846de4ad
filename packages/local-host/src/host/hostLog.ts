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

/**
 * Standard output, a turn of the event loop at a time: the lines logged in one turn leave in one write
 * (each write is a system call, and a busy host logs a few lines per request). Lines keep their
 * order; what is pending when the process exits is written before it does (standard output is
 * synchronous for files, pipes and terminals on Linux). A SIGKILL loses at most the
 * lines of the turn it interrupts, none that an earlier turn logged.
 */
function stdoutLineWriter(): (line: string) => void {
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.join('\n') + '\n';
    pending = [];
    process.stdout.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

let sharedStdout: ((line: string) => void) | undefined;

/** The process's one line writer to standard output: what else the host prints goes through it too, so the order holds. */
export function stdoutLines(): (line: string) => void {
  return (sharedStdout ??= stdoutLineWriter());
}

export function createHostLogger(options: { json?: boolean; minLevel?: HostLogLevel; write?: (line: string) => void } = {}): HostLogger {
  const write = options.write ?? stdoutLines();
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

#!/usr/bin/env node
// `batchpilot-host --app <folder> [--port N]`: runs any Azure Functions Node v4 app folder locally,
// with no Core Tools — HTTP, Event Grid, timer, queue and blob triggers, Storage bindings, and Durable
// Functions on Azurite (README.md beside this file says what it serves and how it differs from Azure).
import * as path from 'node:path';
import { startLocalHost, DEFAULT_LOCAL_HOST_PORT } from './localHost';
import { createHostLogger, stdoutLines } from './hostLog';
import type { DurableEngineFactory } from './contracts';
import { EVENT_GRID_WEBHOOK_PATH } from './eventGridWebhook';

const USAGE = `Usage: batchpilot-host --app <folder> [--port N] [--data-dir <folder>] [--log-format text|json]

Runs the Azure Functions app in <folder> (Node.js programming model v4) on this machine:
  --app         the app folder: its package.json "main" names the entry files, plus host.json and
                local.settings.json (Values become environment variables unless already set)
  --port        HTTP port (default ${DEFAULT_LOCAL_HOST_PORT}; 0 picks a free one)
  --data-dir    where function keys are kept (default <folder>/.local/host)
  --log-format  text (default) or json lines`;

interface CliArgs {
  app?: string;
  port: number;
  dataDir?: string;
  logFormat: 'text' | 'json';
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { port: Number(process.env.FUNCTIONS_HTTPWORKER_PORT) || DEFAULT_LOCAL_HOST_PORT, logFormat: 'text' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value.`);
      return v;
    };
    if (a === '--app') args.app = value();
    else if (a === '--port') {
      const v = value();
      args.port = Number(v);
      if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error(`--port must be a port number, got '${v}'.`);
    } else if (a === '--data-dir') args.dataDir = value();
    else if (a === '--log-format') {
      const v = value();
      if (v !== 'text' && v !== 'json') throw new Error(`--log-format must be text or json, got '${v}'.`);
      args.logFormat = v;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else throw new Error(`Unknown argument '${a}'.`);
  }
  return args;
}

function durableEngineFactory(): DurableEngineFactory | undefined {
  try {
    return (require('../durable') as { createDurableEngine?: DurableEngineFactory }).createDurableEngine;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes('../durable')) return undefined;
    throw err;
  }
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
    if (!args.app) throw new Error('--app <folder> is required.');
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const logger = createHostLogger({ json: args.logFormat === 'json' });
  process.on('unhandledRejection', (reason) => logger({ level: 'error', category: 'host', message: `Unhandled promise rejection in the app: ${(reason as Error)?.stack ?? reason}` }));
  process.on('uncaughtException', (err) => logger({ level: 'error', category: 'host', message: `Uncaught exception in the app: ${err.stack ?? err}` }));

  const host = await startLocalHost({ appDir: path.resolve(args.app), port: args.port, dataDir: args.dataDir, logger, durableEngineFactory: durableEngineFactory() });
  const lines: string[] = ['', 'Functions:', ''];
  for (const h of host.httpTriggers.describe(host.url)) lines.push(`  ${h.name}: [${h.methods}] ${h.url}${h.authLevel === 'anonymous' ? '' : ` (${h.authLevel} key)`}`);
  for (const fn of host.app.list()) {
    const queue = host.queueTriggers.describe().find((q) => q.name === fn.name);
    const blob = host.blobTriggers.describe().find((q) => q.name === fn.name);
    if (fn.triggerType === 'eventgridtrigger') lines.push(`  ${fn.name}: eventGridTrigger ${host.url}${EVENT_GRID_WEBHOOK_PATH}?functionName=${fn.name}`);
    else if (queue) lines.push(`  ${fn.name}: queueTrigger (queue '${queue.queue}')`);
    else if (blob) lines.push(`  ${fn.name}: blobTrigger (${blob.path})`);
    else if (fn.triggerType !== 'httptrigger' && fn.triggerType !== 'timertrigger') lines.push(`  ${fn.name}: ${fn.bindings[fn.triggerName].type}`);
  }
  for (const t of host.timers.describe()) lines.push(`  ${t.name}: timerTrigger (${t.schedule})`);
  lines.push('', `Function keys: ${host.keys.file}`);
  if (args.logFormat === 'text') stdoutLines()(lines.join('\n') + '\n');
  // The line tests and launchers wait for; keep its wording stable.
  logger({ level: 'information', category: 'host', message: `Host listening on ${host.url}` });

  const shutdown = (signal: string): void => {
    logger({ level: 'information', category: 'host', message: `${signal} received; stopping.` });
    void host.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`The host could not start: ${err.message}\n`);
  process.exit(1);
});

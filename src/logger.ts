import { AsyncLocalStorage } from 'node:async_hooks';
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { Logger as BoltLogger, LogLevel } from '@slack/bolt';

/**
 * The keys every log line of one unit of work carries: the Slack request (who, which command or button, the request
 * id when it is about one), the worker's job, the schedule's task. Ids and names only, never a value a user typed
 * beyond those, never a credential.
 */
export interface LogKeys {
  /** The bot's request id (`req-…`), when the work is about a request. */
  requestId?: string;
  /** The Slack user who asked (command, click, submission). */
  slackUser?: string;
  /** What is being done: `/iam create-user`, a button's action id, `job:provision`, `schedule:expire-requests`. */
  action?: string;
  /** How it ended (the unit's last line): ok, refused, failed, done, skipped. */
  outcome?: string;
  jobId?: string;
  jobType?: string;
  task?: string;
  /** Lambda's id of the invocation. */
  invocationId?: string;
}

const logContext = new AsyncLocalStorage<LogKeys>();

/**
 * Runs `fn` with `keys` added to every line logged inside it, however deep and however concurrent (an async
 * context of its own, so that two requests handled at once in one process never swap keys).
 */
export function withLogKeys<T>(keys: LogKeys, fn: () => T): T {
  const defined = Object.fromEntries(Object.entries(keys).filter(([, v]) => v !== undefined && v !== ''));
  return logContext.run({ ...logContext.getStore(), ...defined }, fn);
}

/** Adds keys to the current unit of work from here on (e.g. the request id once it is known). */
export function appendLogKeys(keys: LogKeys): void {
  const store = logContext.getStore();
  if (store) Object.assign(store, Object.fromEntries(Object.entries(keys).filter(([, v]) => v !== undefined)));
}

/** The keys of the current unit of work so far (e.g. whether something in it already set its outcome). */
export function currentLogKeys(): Readonly<LogKeys> {
  return { ...logContext.getStore() };
}

/** Powertools' JSON lines, with the unit of work's keys (withLogKeys) on each. */
class ContextLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: attributes.lambdaContext?.coldStart,
        function_name: attributes.lambdaContext?.functionName,
        function_request_id: attributes.lambdaContext?.awsRequestId,
        xray_trace_id: attributes.xRayTraceId,
      },
    })
      .addAttributes({ ...logContext.getStore() })
      .addAttributes(additional);
  }
}

/** The one structured logger of the bot. It never receives a credential: services log ids, not values. */
export const logger = new Logger({
  serviceName: 'iam-slack-bot',
  logLevel: (process.env.LOG_LEVEL ?? 'INFO') as 'INFO',
  logFormatter: new ContextLogFormatter(),
});

/** Bolt's logger interface backed by the Powertools logger, so Bolt's own lines are structured too. */
export function boltLogger(): BoltLogger {
  const child = logger.createChild({ serviceName: 'iam-slack-bot.bolt' });
  let level = 'info' as LogLevel;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg) => child.debug(text(msg)),
    info: (...msg) => child.info(text(msg)),
    warn: (...msg) => child.warn(text(msg)),
    error: (...msg) => child.error(text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

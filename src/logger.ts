import { Logger } from '@aws-lambda-powertools/logger';
import type { Logger as BoltLogger, LogLevel } from '@slack/bolt';

/** The one structured logger of the bot. It never receives a credential: services log ids, not values. */
export const logger = new Logger({
  serviceName: 'iam-slack-bot',
  logLevel: (process.env.LOG_LEVEL ?? 'INFO') as 'INFO',
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

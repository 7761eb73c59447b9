/**
 * Every error the bot raises on purpose is a BotError: its message is safe to show to the person who asked
 * (it never contains a credential), and `cause` keeps the underlying error for the logs.
 */
export class BotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BotError';
  }
}

/** The configuration or the access policy is invalid; `problems` lists every problem found. */
export class ConfigError extends BotError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The input of a request is wrong (bad user name, unknown group, ...). */
export class ValidationError extends BotError {
  /** Problems keyed by the field they concern (modal block ids), for inline display. */
  readonly fields: Record<string, string>;
  constructor(message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ValidationError';
    this.fields = fields;
  }
}

/** The person is not allowed to do this (not an approver, approving their own request, ...). */
export class NotAuthorizedError extends BotError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotAuthorizedError';
  }
}

/** The thing acted on is not in a state that allows it (already decided, expired, ...). */
export class ConflictError extends BotError {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** An AWS step failed; the message says what exists now. */
export class ProvisioningError extends BotError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProvisioningError';
  }
}

/** A short description of an unknown error that is safe to show: its name, never its message. */
export function describeError(error: unknown): string {
  if (error instanceof BotError) return error.message;
  if (error instanceof Error) return `${error.name}`;
  return 'unknown error';
}

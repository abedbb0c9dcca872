/** Error codes of SPEC section 4: part of the public contract (they appear on the error topic). */
export type ErrorCode =
  | 'invalid_event'
  | 'unknown_chart'
  | 'event_not_accepted'
  | 'definition_invalid'
  | 'implementation_error'
  | 'persistence_failed'
  | 'definition_incompatible';

/** An error a user can act on: a code from the contract and a message without a stack trace. */
export class ChartError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChartError';
    this.code = code;
  }
}

/** The message of anything thrown, never its stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * An Error for Node-RED's `done(err)`: Node-RED logs an Error's stack, and a user needs only the
 * code and the message. `code` stays on it for Catch nodes.
 */
export function userFacingError(error: { code: ErrorCode; message: string }): Error & { code: ErrorCode } {
  const err = Object.assign(new Error(error.message), { code: error.code });
  // Node-RED shows `String(err)`, "name: message": the code is the name.
  err.name = error.code;
  err.stack = String(err);
  return err;
}

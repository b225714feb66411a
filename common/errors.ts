// Errors meant for people: one line naming the thing, plus a hint. The CLI prints
// `cairn: <message>` and `hint: <hint>` and exits non-zero, never a stack trace.
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

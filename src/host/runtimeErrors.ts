// The error every failed runtime request rejects with (vscode-free: the runtime tests check its code and tail).
/** A request that failed: `code` is stable ('timeout', 'cancelled', 'runtime-crashed', or the runtime's own). */
export class RuntimeRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Last stderr lines of the runtime process, when it died. */
    readonly stderrTail?: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RuntimeRequestError';
  }
}

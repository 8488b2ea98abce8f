/**
 * Error classes of vod-edge, in one place (as BullMQ keeps its errors together).
 *
 * A `UserError` is something the person running `vod` caused and can fix (a bad file,
 * a bad flag, an unreachable Redis). Its message is one clear sentence; CLI entry points
 * print it without a stack trace and exit with `exitCode`.
 */
export class UserError extends Error {
  /** Process exit code the CLI uses for this error (2 = usage / bad input, 1 = environment). */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 2;
  }
}

/** The master file cannot be used (missing, empty, not a video, truncated, audio-only). */
export class InvalidMasterError extends UserError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { exitCode: 2, ...options });
    this.name = 'InvalidMasterError';
  }
}

/** A service `vod` depends on (Redis, the origin) cannot be reached or started. */
export class ServiceUnavailableError extends UserError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { exitCode: 1, ...options });
    this.name = 'ServiceUnavailableError';
  }
}

/**
 * ffmpeg or ffprobe exited with an error. `ffmpegOutputTail` holds the last lines the
 * process wrote to stderr (fluent-ffmpeg's own errors drop them), and the message ends
 * with them so a failed job's reason shows what ffmpeg said.
 */
export class FfmpegError extends Error {
  readonly ffmpegOutputTail: string[];
  readonly exitCode: number | null;

  constructor(summary: string, ffmpegOutputTail: string[], exitCode: number | null) {
    const tail = ffmpegOutputTail.length > 0 ? `\nffmpeg said:\n  ${ffmpegOutputTail.join('\n  ')}` : '';
    super(`${summary}${tail}`);
    this.name = 'FfmpegError';
    this.ffmpegOutputTail = ffmpegOutputTail;
    this.exitCode = exitCode;
  }
}

/** An encode was cancelled through its AbortSignal; the ffmpeg process has exited. */
export class EncodeCancelledError extends Error {
  constructor(reason = 'the encode was cancelled') {
    super(reason);
    this.name = 'EncodeCancelledError';
  }
}

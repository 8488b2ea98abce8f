/**
 * Structured logging (pino). Logs go to stderr so command output on stdout stays clean;
 * level from the `level` argument (CLI `--log-level`, env `LOG_LEVEL`), default `info`.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Creates the process logger writing JSON lines to stderr (fd 2). */
export function createLogger(level = 'info', name = 'vod'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/** A logger that drops everything (tests and library callers that pass none). */
export const silentLogger: Logger = pino({ level: 'silent' });

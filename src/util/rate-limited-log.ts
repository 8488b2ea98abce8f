/**
 * Log lines that a fuzzer, a broken client or a flapping dependency could repeat without end
 * go through a rate limit: at most `perWindow` lines per `windowMs`, then one line saying how
 * many were dropped. (pino has no rate limiting of its own.)
 */
import type { Logger } from './logger.js';

/** Log lines per window at most, and the window, ms. */
const LOG_LINES_PER_WINDOW = 20;
const LOG_WINDOW_MS = 10_000;

/**
 * A logger wrapper that lets at most `perWindow` lines through every `windowMs`, then one line
 * saying how many were dropped when the next window opens.
 */
export class RateLimitedLog {
  private windowStartMs = 0;
  private lines = 0;
  private dropped = 0;

  constructor(
    private readonly log: Logger,
    private readonly perWindow = LOG_LINES_PER_WINDOW,
    private readonly windowMs = LOG_WINDOW_MS,
    private readonly nowMs: () => number = Date.now,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.nowMs();
    if (now - this.windowStartMs >= this.windowMs) {
      if (this.dropped > 0) this.log.warn({ dropped: this.dropped }, 'log lines dropped by rate limit');
      this.windowStartMs = now;
      this.lines = 0;
      this.dropped = 0;
    }
    if (this.lines < this.perWindow) {
      this.lines++;
      this.log.warn(fields, message);
    } else {
      this.dropped++;
    }
  }
}

/**
 * Keeps an encode worker from spinning on a Redis that answers every command with an error.
 *
 * BullMQ 6.7's main loop fetches the next job again at once after an error that is not a
 * connection error (Worker.retryIfFailed with `onlyEmitError`; connection errors wait
 * `runRetryDelay`): against a Redis refusing writes with MISCONF (its disk full), `vod worker`
 * logged 70,531 "worker error" lines in 12 s and kept a core busy. A Redis error reply (ioredis's
 * `ReplyError`: MISCONF, OOM, READONLY, ...) now pauses the worker — no new jobs; jobs already
 * running go on — for a while that doubles while the errors go on, with one log line per pause.
 */
import type { Logger } from '../util/logger.js';
import { redisReplyText, redisWriteRefusal } from './redis-server.js';

/** First and longest pause, ms (our choice: long enough not to flood a log, short enough that a fixed Redis is used within a minute). */
export const REDIS_ERROR_PAUSE_MS = Object.freeze({ first: 2_000, max: 60_000 });

/** The part of a BullMQ Worker this needs. */
export interface PausableWorker {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): Promise<void> | void;
  on(event: 'active' | 'drained', listener: () => void): unknown;
}

/**
 * Pauses `worker` on Redis error replies, and resumes it after a pause that starts at
 * `delays.first` and doubles up to `delays.max` while they go on; a job starting or the queue
 * found empty (Redis answered a fetch) starts the next pause from `delays.first` again.
 * @returns the worker's 'error' handler: true when it took the error (a Redis reply), false for
 *   any other error (the caller logs it).
 */
export function pauseOnRedisErrors(worker: PausableWorker, log: Logger, delays: { readonly first: number; readonly max: number } = REDIS_ERROR_PAUSE_MS): (err: Error) => boolean {
  let nextPauseMs = delays.first;
  let paused = false;
  let timer: NodeJS.Timeout | undefined;
  const answered = () => {
    if (!paused) nextPauseMs = delays.first;
  };
  worker.on('active', answered);
  worker.on('drained', answered);
  return (err) => {
    if (err.name !== 'ReplyError') return false;
    if (paused) return true;
    paused = true;
    const pauseMs = nextPauseMs;
    nextPauseMs = Math.min(delays.max, nextPauseMs * 2);
    const reason = redisWriteRefusal(err) ?? `Redis answered with an error (${redisReplyText(err.message)})`;
    log.error({ pauseS: pauseMs / 1000 }, `${reason}; this worker takes no new job for ${pauseMs / 1000} s`);
    void worker.pause(true).finally(() => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        paused = false;
        void worker.resume();
      }, pauseMs);
      timer.unref();
    });
    return true;
  };
}

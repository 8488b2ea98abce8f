/**
 * The encode queue (BullMQ on Redis): enqueueing, status and waiting. Only this module and
 * the encode worker touch BullMQ. One job per title, its job id the title id, so a second
 * upload of the same master finds the first job instead of encoding again.
 */
import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { VodConfig } from '../config.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import type { RedisHandle } from './redis-server.js';
import {
  AUDIO_JOB_NAME,
  TRIALS_JOB_NAME,
  trialJobSchema,
  childJobSchema,
  ENCODE_JOB_NAME,
  ENCODE_QUEUE_NAME,
  encodeProgressSchema,
  type EncodeJobData,
  type EncodeJobProgress,
  type EncodeJobResult,
} from './job-schema.js';

export type EncodeJobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'prioritized' | 'waiting-children' | 'unknown';

export interface EncodeJobStatus {
  readonly titleId: string;
  readonly title: string;
  readonly state: EncodeJobState;
  readonly progress: EncodeJobProgress | undefined;
  /** Attempts that failed so far, and attempts allowed in all. */
  readonly attemptsMade: number;
  readonly attempts: number;
  /** Times a worker started the job (failed, stalled and current attempts). */
  readonly attemptsStarted: number;
  /** Times the worker running the job died (stalls), each one attempt spent. */
  readonly stalls: number;
  /** A chunked title's child jobs (trial groups, chunks of the ladder, audio): done and in all, while it waits for them. */
  readonly children: { readonly done: number; readonly total: number } | undefined;
  /** Which children a chunked title waits for: its analysis's trial groups, or its chunks. */
  readonly flowStep: 'analyze' | 'encode' | undefined;
  /** Why the last attempt failed (first line), if it did. */
  readonly failedReason: string | undefined;
  /** ms since the epoch. */
  readonly createdAtMs: number;
  readonly finishedAtMs: number | undefined;
}

/** One child job of a chunked title (a trial group of its analysis, a chunk of the video ladder, or the audio), as `vod status <id>` lists it. */
export interface ChildJobStatus {
  readonly jobId: string;
  readonly kind: 'trials' | 'chunk' | 'audio';
  /**
   * The audio rendition, what a trial group holds (e.g. `1920x1080 CRF 38,32,26,20`), or for a
   * chunk undefined (every video rendition; a child of an earlier version: its one rendition).
   */
  readonly rendition: string | undefined;
  /** The chunk (video children), or the trial group's index (trials). */
  readonly chunkIndex: number | undefined;
  readonly state: EncodeJobState;
  /** The worker that holds it (active) or ran it last (BullMQ processedBy), when one took it. */
  readonly worker: string | undefined;
  readonly progress: EncodeJobProgress | undefined;
  /** Times a worker started it. */
  readonly attemptsStarted: number;
}

/** A title's encode job is held by a worker (running, or waiting for its running children), so it cannot be removed now. */
export class JobBusyError extends Error {
  constructor(
    readonly titleId: string,
    readonly state: EncodeJobState,
  ) {
    super(`the encode job of title ${titleId} is ${state === 'active' ? 'running' : 'waiting for its chunks, which are running'}`);
    this.name = 'JobBusyError';
  }
}

export interface EnqueueResult {
  /** False when a job for this title already existed (and was left as is or retried). */
  readonly created: boolean;
  readonly state: EncodeJobState;
}

export class EncodeQueue {
  private readonly queue: Queue<EncodeJobData, EncodeJobResult>;
  /** BullMQ leaves connections it was given open; this one is ours to close. */
  private readonly client: Redis;
  private readonly jobOptions: JobsOptions;

  /**
   * @param redis where the queue lives.
   * @param config attempts and backoff for new jobs.
   * @param queueName BullMQ queue name; tests use a random one per test.
   * @param log where connection errors go (one rate-limited line each; the calls that fail
   *        reject as well). Default: nowhere — without a listener they were printed as stack traces.
   */
  constructor(redis: RedisHandle, config: Pick<VodConfig, 'jobAttempts' | 'retryBackoffMs'>, queueName = ENCODE_QUEUE_NAME, log: Logger = silentLogger) {
    this.client = redis.createClient();
    const limited = new RateLimitedLog(log);
    const onError = (err: Error) => limited.warn({ err: err.message }, 'encode queue: Redis connection error');
    this.client.on('error', onError);
    this.queue = new Queue(queueName, { connection: this.client });
    this.queue.on('error', onError);
    this.jobOptions = {
      attempts: config.jobAttempts,
      // BullMQ exponential backoff: delay * 2^(attemptsMade - 1).
      backoff: { type: 'exponential', delay: config.retryBackoffMs },
      removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
      removeOnFail: { age: 30 * 24 * 3600 },
    };
  }

  get name(): string {
    return this.queue.name;
  }

  /**
   * Enqueues the encode of a title, once: an existing waiting/active job is left alone, a
   * failed one is retried, a completed one is left (the title is published).
   */
  async enqueue(data: EncodeJobData): Promise<EnqueueResult> {
    const existing = await this.queue.getJob(data.titleId);
    if (existing) {
      const state = (await existing.getState()) as EncodeJobState;
      if (state === 'failed') {
        // A fresh set of attempts (the worker counts failures and stalls against them, and
        // stalls from before this point no longer count), planned again from the start.
        const { step: _step, ...rest } = existing.data;
        await existing.updateData({ ...rest, stallBaseline: existing.stalledCounter ?? 0 });
        await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return { created: false, state: 'waiting' };
      }
      return { created: false, state };
    }
    const job = await this.queue.add(ENCODE_JOB_NAME, data, { ...this.jobOptions, jobId: data.titleId });
    await job.updateProgress({ stage: 'queued', percent: 0 } satisfies EncodeJobProgress);
    return { created: true, state: 'waiting' };
  }

  /**
   * Status of one title's job, or undefined when the queue has no job for it. The state is
   * read before the job's fields, so a final state ('completed', 'failed') never comes with
   * the attempt count or reason of an earlier attempt.
   */
  async status(titleId: string): Promise<EncodeJobStatus | undefined> {
    const state = (await this.queue.getJobState(titleId)) as EncodeJobState;
    const job = await this.queue.getJob(titleId);
    if (!job) return undefined;
    return toStatus(job, state, await childCounts(job, state));
  }

  /**
   * The child jobs of a chunked title: trial groups, then chunks in order, then the audio; empty for a
   * title that is not (or no longer) split. One Redis read per child: meant for one title's
   * status, not for polling a whole catalog.
   */
  async children(titleId: string): Promise<ChildJobStatus[]> {
    const job = await this.queue.getJob(titleId);
    if (!job) return [];
    const deps = await job.getDependencies();
    // Dependency keys are fully qualified (`bull:<queue>:<job id>`); job ids hold no ':'.
    const ids = [...Object.keys(deps.processed ?? {}), ...(deps.unprocessed ?? []), ...(deps.failed ?? [])].map((k) => k.slice(k.lastIndexOf(':') + 1));
    const out: ChildJobStatus[] = [];
    for (const id of ids) {
      const child = await this.queue.getJob(id);
      if (!child) continue;
      let what: { kind: ChildJobStatus['kind']; rendition: string | undefined; chunkIndex: number | undefined; group?: number };
      if (child.name === TRIALS_JOB_NAME) {
        const data = trialJobSchema.safeParse(child.data);
        if (!data.success) continue;
        what = { kind: 'trials', rendition: data.data.label, chunkIndex: undefined, group: data.data.group };
      } else {
        const data = childJobSchema.safeParse(child.data);
        if (!data.success) continue;
        what = { kind: child.name === AUDIO_JOB_NAME ? 'audio' : 'chunk', rendition: data.data.rendition, chunkIndex: data.data.chunkIndex };
      }
      const progress = encodeProgressSchema.safeParse(child.progress);
      out.push({
        jobId: id,
        kind: what.kind,
        rendition: what.rendition,
        chunkIndex: what.chunkIndex ?? what.group,
        state: (await child.getState()) as EncodeJobState,
        worker: child.processedBy || undefined,
        progress: progress.success ? progress.data : undefined,
        attemptsStarted: child.attemptsStarted ?? 0,
      });
    }
    const order = { trials: 0, chunk: 1, audio: 2 } as const;
    return out.sort((a, b) =>
      a.kind !== b.kind ? order[a.kind] - order[b.kind] : a.kind === 'trials' ? (a.chunkIndex ?? 0) - (b.chunkIndex ?? 0) : (a.rendition ?? '').localeCompare(b.rendition ?? '', 'en', { numeric: true }) || (a.chunkIndex ?? 0) - (b.chunkIndex ?? 0),
    );
  }

  /** Status of the most recent jobs in every state, newest first. */
  async list(limit = 50): Promise<EncodeJobStatus[]> {
    const jobs = await this.queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'failed', 'completed'], 0, limit - 1, false);
    const out: EncodeJobStatus[] = [];
    // Title jobs only: a chunked title's children are shown through its status.
    for (const job of jobs.filter((j): j is Job<EncodeJobData, EncodeJobResult> => Boolean(j) && j.name === ENCODE_JOB_NAME)) {
      const state = (await job.getState()) as EncodeJobState;
      out.push(toStatus(job, state, await childCounts(job, state)));
    }
    return out.sort((a, b) => b.createdAtMs - a.createdAtMs).slice(0, limit);
  }

  /**
   * Polls a title's job until it completes or fails for good (no attempts left, or unrecoverable).
   * @param onUpdate called with every status seen.
   * @returns the final status.
   * @throws Error when the job disappears, or `signal` aborts.
   */
  async waitUntilFinished(
    titleId: string,
    onUpdate: (status: EncodeJobStatus) => void,
    options: { pollMs?: number; signal?: AbortSignal } = {},
  ): Promise<EncodeJobStatus> {
    const pollMs = options.pollMs ?? 250;
    for (;;) {
      options.signal?.throwIfAborted();
      const status = await this.status(titleId);
      if (!status) throw new Error(`the encode job of title ${titleId} is gone from the queue`);
      onUpdate(status);
      if (status.state === 'completed') return status;
      // BullMQ moves a job to 'failed' only for good (a retry goes to 'delayed' or 'waiting').
      if (status.state === 'failed') return status;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Removes a title's job record with its children (a chunked title's trial groups, chunks and
   * audio), so that the same master can be uploaded and encoded again (enqueue leaves a completed
   * job as it is). A job no worker holds is removed whatever its state: a waiting or delayed one is
   * cancelled before it starts.
   * @returns the state the job had, or undefined when the queue has no job for the title.
   * @throws JobBusyError when a worker holds it ('active', or 'waiting-children': its children run),
   *         also when a worker took it between the state read and the removal (BullMQ's lock check).
   */
  async removeJob(titleId: string): Promise<EncodeJobState | undefined> {
    const job = await this.queue.getJob(titleId);
    if (!job) return undefined;
    const state = (await job.getState()) as EncodeJobState;
    if (state === 'active' || state === 'waiting-children') throw new JobBusyError(titleId, state);
    try {
      await job.remove({ removeChildren: true });
    } catch (err) {
      if (/locked/.test((err as Error).message)) throw new JobBusyError(titleId, 'active');
      throw err;
    }
    return state;
  }

  /** Counts of jobs per state. */
  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('active', 'waiting', 'delayed', 'failed', 'completed');
  }

  /** Removes every job and the queue's keys (tests and `vod status --obliterate` style cleanups). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.client.disconnect();
  }
}

/** A chunked title's children done and in all (undefined for a title job that has none). */
async function childCounts(job: Job<EncodeJobData, EncodeJobResult>, state: EncodeJobState): Promise<EncodeJobStatus['children']> {
  if (state !== 'waiting-children' && job.data.step === undefined) return undefined;
  const c = await job.getDependenciesCount({ processed: true, unprocessed: true });
  const done = c.processed ?? 0;
  return { done, total: done + (c.unprocessed ?? 0) };
}

function toStatus(job: Job<EncodeJobData, EncodeJobResult>, state: EncodeJobState, children?: EncodeJobStatus['children']): EncodeJobStatus {
  const parsed = encodeProgressSchema.safeParse(job.progress);
  return {
    titleId: job.data.titleId,
    title: job.data.title,
    state,
    progress: parsed.success ? parsed.data : undefined,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    attemptsStarted: job.attemptsStarted ?? 0,
    stalls: job.stalledCounter ?? 0,
    children,
    flowStep: job.data.step === 'ladder' ? 'analyze' : job.data.step === 'assemble' ? 'encode' : undefined,
    failedReason: job.failedReason || undefined,
    createdAtMs: job.timestamp,
    finishedAtMs: job.finishedOn,
  };
}

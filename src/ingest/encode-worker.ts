/**
 * The encode worker: takes encode jobs from the queue and runs probe → analyze → ladder →
 * encode → measure → package in a staging folder, then publishes the title in one atomic step. A worker killed
 * mid-encode publishes nothing; its job's lock expires and another worker (or this one,
 * restarted) runs it again.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { VodConfig } from '../config.js';
import { encodeTitle, type EncodeProgress } from '../encoder/encode-title.js';
import type { FfmpegPaths } from '../encoder/ffmpeg.js';
import { PUBLISH_LAST, PUBLISHED_MARKER, titleKeyPrefix, titleObjectKey } from '../title/title-address.js';
import type { ObjectStore } from '../origin/object-store.js';
import { InvalidMasterError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { ENCODE_QUEUE_NAME, encodeJobSchema, type EncodeJobData, type EncodeJobProgress, type EncodeJobResult } from './job-schema.js';
import type { RedisHandle } from './redis-server.js';

/** BullMQ's stall limit, never reached: processEncodeJob's attempt count is the limit. */
const MAX_STALLS_BULLMQ = 1_000_000;

/** Least time between two progress writes to Redis for one job, ms. */
const PROGRESS_INTERVAL_MS = 500;
/** Staging folders older than this are leftovers of killed workers and are swept at start, ms. */
const STALE_STAGING_MS = 6 * 3600 * 1000;

export interface EncodeWorkerOptions {
  readonly redis: RedisHandle;
  readonly config: Pick<VodConfig, 'segmentDurationS' | 'chunkDurationS' | 'x264Preset' | 'workerLockDurationMs' | 'stalledIntervalMs' | 'vmafModelPath' | 'jobAttempts'>;
  readonly store: ObjectStore;
  readonly paths: FfmpegPaths;
  /** Jobs run at once by this worker. Default 1 (x264 already uses every core). */
  readonly concurrency?: number;
  readonly log?: Logger;
  readonly queueName?: string;
}

/**
 * Runs one encode job. Exported for tests; the worker calls it for every job.
 * @throws UnrecoverableError for a bad job or a master that cannot be encoded (no retry);
 *         other errors (ffmpeg failures, cancellation) are retried by BullMQ with backoff.
 */
export async function processEncodeJob(
  job: Job<EncodeJobData, EncodeJobResult>,
  options: Omit<EncodeWorkerOptions, 'redis' | 'concurrency' | 'queueName'>,
  signal?: AbortSignal,
): Promise<EncodeJobResult> {
  const log = (options.log ?? silentLogger).child({ jobId: job.id, attempt: job.attemptsMade + 1 });
  const parsed = encodeJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid encode job: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  const data = parsed.data;
  const { store } = options;
  const prefix = titleKeyPrefix(data.titleId);

  if (await store.exists(titleObjectKey(data.titleId, PUBLISHED_MARKER))) {
    log.info('title already published');
    return { titleId: data.titleId, published: false, renditions: 0, encodeTimeS: 0 };
  }
  // Every start is an attempt, whether the last one failed or its worker died (a stall):
  // a crash-looping job ends failed, with the reason, once its attempts are spent.
  const attempts = job.opts.attempts ?? options.config.jobAttempts;
  if (job.attemptsStarted > attempts) {
    throw new UnrecoverableError(
      `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: the worker running this job died in ${Math.min(attempts, job.stalledCounter)} of them (killed or out of memory?)${job.failedReason ? `; last failure: ${job.failedReason}` : ''}`,
    );
  }
  if (job.attemptsStarted > 1) {
    // A dead attempt's staging folder is swept now, not hours later at some worker's start.
    const swept = await store.discardStaging(prefix, { commitLast: PUBLISH_LAST });
    if (swept > 0) log.info({ swept }, 'discarded the staging folder of an earlier attempt');
  }

  let lastWrite = 0;
  let lastStage = '';
  const progress = (p: EncodeJobProgress) => {
    const now = Date.now();
    if (p.stage === lastStage && now - lastWrite < PROGRESS_INTERVAL_MS) return;
    lastWrite = now;
    lastStage = p.stage;
    job.updateProgress(p).catch((err: unknown) => log.warn({ err }, 'could not write progress'));
  };

  const staging = await store.stage(prefix, { commitLast: PUBLISH_LAST });
  try {
    const record = await store.withLocalFile(data.masterKey, (masterPath) => encodeTitle(
      {
        titleId: data.titleId,
        title: data.title,
        masterPath,
        masterFileName: data.masterFileName,
        outDir: staging.dir,
        segmentDurationS: options.config.segmentDurationS,
        chunkDurationS: options.config.chunkDurationS,
        x264Preset: options.config.x264Preset,
        ladderKind: data.ladder,
        ...(options.config.vmafModelPath ? { vmafModelPath: options.config.vmafModelPath } : {}),
      },
      options.paths,
      {
        signal,
        log,
        onProgress: (p: EncodeProgress) =>
          progress({ stage: p.stage, percent: Math.round(p.fraction * 1000) / 10, ...(p.rendition ? { rendition: p.rendition } : {}) }),
      },
    ));
    progress({ stage: 'publish', percent: 100 });
    const published = await staging.commit();
    await job.updateProgress({ stage: 'done', percent: 100 } satisfies EncodeJobProgress);
    log.info({ titleId: data.titleId, published, encodeTimeS: record.encodeTimeS }, 'title published');
    return { titleId: data.titleId, published, renditions: record.renditions.length, encodeTimeS: record.encodeTimeS };
  } catch (err) {
    await staging.abort();
    if (err instanceof InvalidMasterError) throw new UnrecoverableError(err.message);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await store.exists(data.masterKey))) throw new UnrecoverableError(`the master ${data.masterKey} does not exist in the object store`);
    throw err;
  }
}

/**
 * Starts a BullMQ worker on the encode queue.
 *
 * Long encodes are never reported stalled: ffmpeg runs in child processes, so the event loop
 * stays free and BullMQ renews the job lock every `workerLockDurationMs / 2`. A worker that
 * dies stops renewing; after `workerLockDurationMs` the stalled check (every
 * `stalledIntervalMs`) moves the job back to waiting. A stall costs one of the job's attempts,
 * like a failure: the job runs again while attempts remain, then fails with a reason that
 * says how many workers died under it.
 */
export async function startEncodeWorker(options: EncodeWorkerOptions): Promise<Worker<EncodeJobData, EncodeJobResult>> {
  const log = options.log ?? silentLogger;
  await options.store.sweepStaging(STALE_STAGING_MS);
  const client = options.redis.createClient();
  const worker = new Worker<EncodeJobData, EncodeJobResult>(
    options.queueName ?? ENCODE_QUEUE_NAME,
    (job, _token, signal) => processEncodeJob(job, options, signal),
    {
      connection: client,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.config.workerLockDurationMs,
      stalledInterval: options.config.stalledIntervalMs,
      // Stalls are attempts: processEncodeJob counts every start against the job's attempts
      // and fails the job itself when they are spent. BullMQ's own stall limit is set out of the
      // way (its counter is not reset when a failed job is uploaded again and retried).
      maxStalledCount: MAX_STALLS_BULLMQ,
    },
  );
  worker.on('failed', (job, err) => log.warn({ jobId: job?.id, attemptsMade: job?.attemptsMade, err: err.message.split('\n')[0] }, 'encode attempt failed'));
  worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));
  // BullMQ leaves a connection it was given open.
  worker.on('closed', () => client.disconnect());
  await worker.waitUntilReady();
  return worker;
}

/** Cancels running encodes (their ffmpeg processes end) and closes the worker. */
export async function stopEncodeWorker(worker: Worker): Promise<void> {
  worker.cancelAllJobs('worker shutting down');
  await worker.close();
}

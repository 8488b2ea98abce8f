/**
 * The encode worker: takes title jobs from the queue and runs plan → encode → measure →
 * package in a staging folder, then publishes the title in one atomic step (the publish stage);
 * a title longer than one chunk becomes a flow of child jobs (one per chunk of the ladder) that any worker
 * takes (title-flow.ts), and the title job assembles and publishes it once they are done. A
 * worker killed mid-encode publishes nothing; its job's lock expires and another worker (or
 * this one, restarted) runs it again — or, for a chunk, just that chunk.
 */
import os from 'node:os';
import { Queue, UnrecoverableError, WaitingChildrenError, Worker, type Job } from 'bullmq';
import type { VodConfig } from '../config.js';
import { planChunks } from '../encoder/chunk-plan.js';
import { encodeTitle, type EncodeProgress } from '../encoder/encode-title.js';
import { inspectMaster } from '../encoder/master-check.js';
import { outputFrameRate, planTitle, type EncodePlan } from '../encoder/title-stages.js';
import { planPlacedAnalysis } from '../encoder/per-title.js';
import { concludeAnalysis } from '../encoder/per-title-ladder.js';
import { refineTrials } from '../encoder/per-title-search.js';
import type { TitleRecord } from '../origin/catalog.js';
import type { FfmpegPaths } from '../encoder/ffmpeg.js';
import { keyframesForSeeking } from '../encoder/master-seek.js';
import { PUBLISH_LAST, PUBLISHED_MARKER, titleKeyPrefix, titleObjectKey } from '../title/title-address.js';
import type { ObjectStore } from '../origin/object-store.js';
import { InvalidMasterError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import {
  AUDIO_JOB_NAME,
  CHUNK_JOB_NAME,
  childJobSchema,
  ENCODE_QUEUE_NAME,
  TRIALS_JOB_NAME,
  trialJobSchema,
  type TrialJobData,
  encodeJobSchema,
  type ChildJobData,
  type ChildJobResult,
  type EncodeJobData,
  type EncodeJobProgress,
  type EncodeJobResult,
} from './job-schema.js';
import type { RedisHandle } from './redis-server.js';
import { loadKeySeed } from '../keys/content-keys.js';
import { loadAnalysisPlan, loadPlan, loadTrialResults, removeWork, storeAnalysisPlan, sweepDeadFlowDirs, storePlan, withSubtitleFiles } from './flow-store.js';
import { addChildren, assembleTitle, childJobs, runChildJob, runTrialJob, trialJobs } from './title-flow.js';
import { vmafScoredByLibvmaf1 } from '../encoder/lavfi-scorer.js';
import { transparentHugePagesMode, vmafThpAdvice } from '../util/transparent-huge-pages.js';
import { pauseOnRedisErrors } from './worker-backoff.js';

/** BullMQ's stall limit, never reached: processEncodeJob's attempt count is the limit. */
const MAX_STALLS_BULLMQ = 1_000_000;

/** Least time between two progress writes to Redis for one job, ms. */
const PROGRESS_INTERVAL_MS = 500;
/** Staging folders older than this are leftovers of killed workers and are swept at start, ms. */
const STALE_STAGING_MS = 6 * 3600 * 1000;

export interface EncodeWorkerOptions {
  readonly redis: RedisHandle;
  readonly config: Pick<VodConfig, 'segmentDurationS' | 'chunkDurationS' | 'x264Preset' | 'workerLockDurationMs' | 'stalledIntervalMs' | 'vmafModelPath' | 'jobAttempts' | 'retryBackoffMs'>;
  readonly store: ObjectStore;
  readonly paths: FfmpegPaths;
  /** Jobs run at once by this worker. Default 1 (x264 already uses every core). */
  readonly concurrency?: number;
  readonly log?: Logger;
  readonly queueName?: string;
  /** This worker's name, recorded on the jobs it runs (BullMQ processedBy). Default `<hostname>:<pid>`. */
  readonly name?: string;
}

/** What the flow needs from the worker to add a chunked title's children. */
export interface FlowOptions {
  /** The encode queue, for adding child jobs. */
  readonly queue: Queue;
  /** The lock token of the running job (BullMQ's processor argument), for moveToWaitingChildren. */
  readonly token: string | undefined;
}

/**
 * Runs one title job. Exported for tests; the worker calls it for every title job.
 *
 * A title no longer than one chunk (`VOD_CHUNK_DURATION_S`) is encoded here from start to end.
 * A longer one, when `flow` is given, becomes a flow (title-flow.ts): this run plans it, adds a
 * child job per chunk (every video rendition of it) and for the audio, and waits (WaitingChildrenError); the
 * job's next run, once every child is done, assembles, measures, packages and publishes it.
 * @throws UnrecoverableError for a bad job, a master that cannot be encoded or spent attempts
 *         (no retry); other errors (ffmpeg failures, cancellation) are retried with backoff.
 */
export async function processEncodeJob(
  job: Job<EncodeJobData, EncodeJobResult>,
  options: Omit<EncodeWorkerOptions, 'redis' | 'concurrency' | 'queueName'>,
  signal?: AbortSignal,
  flow?: FlowOptions,
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
  // Every failure and every stall (a worker that died) spends one attempt: a crash-looping job
  // ends failed, with the reason, once its attempts are spent. (Not job.attemptsStarted: a
  // flow's title job also starts again when its children are done.)
  const attempts = job.opts.attempts ?? options.config.jobAttempts;
  const stalls = Math.max(0, job.stalledCounter - (data.stallBaseline ?? 0));
  if (job.attemptsMade + stalls >= attempts) {
    throw new UnrecoverableError(
      `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: the worker running this job died in ${Math.min(attempts, stalls)} of them (killed or out of memory?)${job.failedReason ? `; last failure: ${job.failedReason}` : ''}`,
    );
  }
  // This attempt's progress starts afresh: `vod status` must not show a dead attempt's stage
  // as if this one had reached it.
  if (data.step === undefined) await job.updateProgress({ stage: 'probe', percent: 0 } satisfies EncodeJobProgress).catch(() => {});
  if (job.attemptsMade + stalls > 0) {
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
  const ctx = { store, paths: options.paths, x264Preset: options.config.x264Preset, log, signal };
  /** A protected title's settings and key seed (stored at upload), for packaging. */
  const protectionOf = async (d: EncodeJobData) => (d.protection ? { settings: d.protection, keySeed: await loadKeySeed(store, d.titleId) } : undefined);

  const staging = await store.stage(prefix, { commitLast: PUBLISH_LAST });
  let planStartedAtMs = performance.now();
  // Whether this title went through a flow (its work prefix is removed once it is published).
  let usedFlow = data.step !== undefined;
  try {
    let record: TitleRecord;
    const assemble = async (): Promise<TitleRecord> => {
      const plan = await loadPlan(store, data.titleId);
      const children = Object.values(await job.getChildrenValues()) as ChildJobResult[];
      const current = job.data as EncodeJobData;
      return assembleTitle(
        plan,
        staging.dir,
        {
          title: data.title,
          masterFileName: data.masterFileName,
          masterKey: data.masterKey,
          vmafModelPath: options.config.vmafModelPath,
          measureRungs: true,
          encodeS: children.reduce((sum, c) => sum + (c?.encodeS ?? 0), 0),
          measureS: children.reduce((sum, c) => sum + (c?.measureS ?? 0), 0),
          startedAtMs: performance.now() - (Date.now() - (current.flowStartedAtMs ?? Date.now())),
          protection: await protectionOf(data),
        },
        ctx,
        (stage, f, rendition) => progress({ stage, percent: Math.round((stage === 'package' ? 90 + f * 2 : 92 + f * 7) * 10) / 10, ...(rendition ? { rendition } : {}) }),
      );
    };
    /**
     * Adds children, records the next step, and waits for them (throws WaitingChildrenError;
     * returns when they were all done already). Children first: a worker that dies between the two
     * leaves the step before, which this job redoes (adding the same children again replaces
     * them), where the other order left a step whose children were never added.
     */
    const waitFor = async (step: 'ladder' | 'assemble', jobs: Parameters<typeof addChildren>[2], flowStartedAtMs: number, wave?: number): Promise<void> => {
      usedFlow = true;
      const n = await addChildren(flow!.queue, job, jobs, { attempts, backoff: { type: 'exponential', delay: options.config.retryBackoffMs } });
      await job.updateData({ ...data, step, flowStartedAtMs, ...(wave ? { wave } : {}) });
      log.info({ titleId: data.titleId, children: n, step }, step === 'ladder' ? 'analysis split into trial-group jobs' : 'title split into chunk jobs');
      if (await job.moveToWaitingChildren(flow!.token ?? '')) throw new WaitingChildrenError();
    };
    /** Chunks of a planned title become children; the title job waits for them, then assembles. */
    const splitIntoChunks = async (plan: EncodePlan, flowStartedAtMs: number): Promise<TitleRecord> => {
      await storePlan(store, plan);
      progress({ stage: 'encode', percent: 40 });
      await waitFor('assemble', childJobs(plan, data.masterKey), flowStartedAtMs);
      // Every child already finished (a fast cluster): assemble now.
      return assemble();
    };
    /**
     * A wave of trial groups is done: with the coarse-to-fine search, the next wave while its
     * refinement adds trials (per-title-search.ts); then the ladder from every wave's points, then the chunks.
     */
    const chooseLadderAndSplit = async (flowStartedAtMs: number, wave: number): Promise<TitleRecord> => {
      const analysisPlan = await loadAnalysisPlan(store, data.titleId);
      const results = await loadTrialResults(store, data.titleId, analysisPlan, wave);
      const next = analysisPlan.search === 'coarse-to-fine' ? refineTrials(analysisPlan.groups, results.map((r) => r.points)) : [];
      if (next.some((t) => t.length > 0)) {
        await waitFor('ladder', trialJobs(data.titleId, data.masterKey, analysisPlan, wave + 1, next), flowStartedAtMs, wave + 1);
        // Every job of the wave already finished (a fast cluster): go on now.
        return chooseLadderAndSplit(flowStartedAtMs, wave + 1);
      }
      progress({ stage: 'analyze', percent: 39 });
      const analysis = concludeAnalysis(analysisPlan, results, (Date.now() - flowStartedAtMs) / 1000);
      log.info({ rungs: analysis.rungs.length, analysisS: Math.round(analysis.timings.totalS) }, 'per-title ladder chosen from the trial groups');
      const plan = await store.withLocalFile(data.masterKey, (masterPath) => planTitle({ ...planInput(masterPath), analysis }, options.paths, { signal, log }));
      return splitIntoChunks(plan, flowStartedAtMs);
    };
    // Subtitle files uploaded beside the master: only their store keys go into a flow's shared
    // plan; the worker that packages fetches them (withSubtitleFiles).
    const subtitleFiles = data.subtitles ?? [];
    const planInput = (masterPath: string) => ({ titleId: data.titleId, masterPath, ladderKind: data.ladder, segmentDurationS: options.config.segmentDurationS, vmafModelPath: options.config.vmafModelPath, workDir: staging.dir, chunkDurationS: options.config.chunkDurationS, x264Preset: options.config.x264Preset, subtitleFiles, ...(data.codecs ? { perTitle: { codecs: data.codecs } } : {}) });
    if (data.step === 'assemble' || data.step === 'ladder') {
      // Back too early (a stall between adding the children and waiting for them): wait again.
      if ((await job.getDependenciesCount({ unprocessed: true })).unprocessed && (await job.moveToWaitingChildren(flow?.token ?? ''))) {
        await staging.abort();
        throw new WaitingChildrenError();
      }
    }
    if (data.step === 'assemble') {
      record = await assemble();
    } else if (data.step === 'ladder') {
      record = await chooseLadderAndSplit(data.flowStartedAtMs ?? Date.now(), data.wave ?? 0);
    } else {
      const outcome = await store.withLocalFile(data.masterKey, async (masterPath) => {
        const probe = await inspectMaster(masterPath, options.paths);
        if (!flow || planChunks(probe.durationS, options.config.segmentDurationS, options.config.chunkDurationS).length <= 1) {
          // One worker, one pass (or the chunks one after another when there is no flow).
          return withSubtitleFiles(store, subtitleFiles, async (localSubtitleFiles) => encodeTitle(
            {
              subtitleFiles: localSubtitleFiles,
              titleId: data.titleId,
              title: data.title,
              masterPath,
              masterFileName: data.masterFileName,
              outDir: staging.dir,
              segmentDurationS: options.config.segmentDurationS,
              chunkDurationS: options.config.chunkDurationS,
              x264Preset: options.config.x264Preset,
              ladderKind: data.ladder,
              ...(data.codecs ? { perTitle: { codecs: data.codecs } } : {}),
              ...(options.config.vmafModelPath ? { vmafModelPath: options.config.vmafModelPath } : {}),
              protection: await protectionOf(data),
            },
            options.paths,
            { signal, log, onProgress: (p: EncodeProgress) => progress({ stage: p.stage, percent: Math.round(p.fraction * 1000) / 10, ...(p.rendition ? { rendition: p.rendition } : {}) }) },
          ));
        }
        planStartedAtMs = performance.now();
        if (data.ladder === 'per-title') {
          // The analysis spreads too: one child per trial group.
          progress({ stage: 'analyze', percent: 0 });
          const keyframesS = await keyframesForSeeking(masterPath, probe.formatName, options.paths);
          const frameRate = outputFrameRate(probe.video!);
          // The complexity scan places the sample's windows (title-complexity.ts): 0–5 of the analysis's 0–39%.
          const planOptions = { segmentDurationS: options.config.segmentDurationS, finalPreset: options.config.x264Preset, keyframesS, ...(data.codecs ? { codecs: data.codecs } : {}), ...(options.config.vmafModelPath ? { vmafModelPath: options.config.vmafModelPath } : {}) };
          const analysisPlan = await planPlacedAnalysis(masterPath, probe, frameRate, options.paths, planOptions, {
            signal,
            onProgress: (f) => progress({ stage: 'analyze', percent: Math.round(f * 50) / 10 }),
            onScanError: (err) => log.warn({ err: err.message }, 'complexity scan failed: sample windows centred in their shares'),
          });
          return { analysisPlan };
        }
        return planTitle(planInput(masterPath), options.paths, { signal, log });
      });
      const flowStartedAtMs = Date.now() - (performance.now() - planStartedAtMs);
      if ('renditions' in outcome) {
        record = outcome;
      } else if ('analysisPlan' in outcome) {
        await storeAnalysisPlan(store, data.titleId, outcome.analysisPlan);
        await waitFor('ladder', trialJobs(data.titleId, data.masterKey, outcome.analysisPlan), flowStartedAtMs);
        // Every trial group already finished (a fast cluster): go on now.
        record = await chooseLadderAndSplit(flowStartedAtMs, 0);
      } else {
        record = await splitIntoChunks(outcome, flowStartedAtMs);
      }
    }
    progress({ stage: 'publish', percent: 100 });
    const published = await staging.commit();
    if (usedFlow) await removeWork(store, data.titleId);
    await job.updateProgress({ stage: 'done', percent: 100 } satisfies EncodeJobProgress);
    log.info({ titleId: data.titleId, published, encodeTimeS: record.encodeTimeS }, 'title published');
    return { titleId: data.titleId, published, renditions: record.renditions.length, encodeTimeS: record.encodeTimeS };
  } catch (err) {
    await staging.abort();
    if (err instanceof WaitingChildrenError) throw err;
    if (err instanceof InvalidMasterError) throw new UnrecoverableError(err.message);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await store.exists(data.masterKey))) throw new UnrecoverableError(`the master ${data.masterKey} does not exist in the object store`);
    // Node names the system call, not the disk: say which disk filled (retried: space may come back).
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new Error(`a disk is full (${(err as Error).message}): the title is written under ${staging.dir}, work files under ${os.tmpdir()}; free some space and retry`);
    throw err;
  }
}

type ChildOptions = Omit<EncodeWorkerOptions, 'redis' | 'concurrency' | 'queueName'>;

/** What a child job runs with, and a progress writer throttled to one Redis write per PROGRESS_INTERVAL_MS. */
function childContext(job: Job, options: ChildOptions, signal: AbortSignal | undefined) {
  const log = (options.log ?? silentLogger).child({ jobId: job.id });
  let last = 0;
  const report = (p: EncodeJobProgress) => {
    if (Date.now() - last < PROGRESS_INTERVAL_MS) return;
    last = Date.now();
    job.updateProgress(p).catch(() => {});
  };
  return { ctx: { store: options.store, paths: options.paths, x264Preset: options.config.x264Preset, log, signal, measureQuality: { vmafModelPath: options.config.vmafModelPath } }, report };
}

/**
 * Runs one trial-group child of a chunked title's analysis: title-flow.ts runTrialJob.
 * @throws UnrecoverableError for a bad job; other errors are retried with backoff.
 */
export async function processTrialJob(job: Job<TrialJobData, ChildJobResult>, options: ChildOptions, signal?: AbortSignal): Promise<ChildJobResult> {
  const parsed = trialJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid trial job: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  const { ctx, report } = childContext(job, options, signal);
  await job.updateProgress({ stage: 'analyze', percent: 0 } satisfies EncodeJobProgress).catch(() => {});
  return runTrialJob(parsed.data, ctx, (f) => report({ stage: 'analyze', percent: Math.round(f * 1000) / 10 }));
}

/**
 * Runs one child job of a flow (a chunk of the video ladder, or the audio): title-flow.ts runChildJob.
 * @throws UnrecoverableError for a bad job; other errors are retried with backoff.
 */
export async function processChildJob(job: Job<ChildJobData, ChildJobResult>, options: ChildOptions, signal?: AbortSignal): Promise<ChildJobResult> {
  const parsed = childJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid chunk job: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  const { ctx, report } = childContext(job, options, signal);
  const what = parsed.data.chunkIndex === undefined ? parsed.data.rendition : `chunk ${parsed.data.chunkIndex}`;
  return runChildJob(parsed.data, ctx, (f, stage) => report({ stage, percent: Math.round(f * 1000) / 10, ...(what ? { rendition: what } : {}) }));
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
  // A killed worker's flow folders on this machine (a chunk's outputs, a group's decoded sample).
  const sweptFlowDirs = await sweepDeadFlowDirs();
  if (sweptFlowDirs > 0) log.info({ swept: sweptFlowDirs }, 'removed the temporary folders of workers that died mid-job');
  const client = options.redis.createClient();
  // Where a chunked title's children are added (title-flow.ts).
  const flowQueue = new Queue(options.queueName ?? ENCODE_QUEUE_NAME, { connection: client });
  flowQueue.on('error', () => {});
  const worker = new Worker<EncodeJobData, EncodeJobResult>(
    options.queueName ?? ENCODE_QUEUE_NAME,
    (job, token, signal) =>
      job.name === CHUNK_JOB_NAME || job.name === AUDIO_JOB_NAME
        ? (processChildJob(job as unknown as Job<ChildJobData, ChildJobResult>, options, signal) as unknown as Promise<EncodeJobResult>)
        : job.name === TRIALS_JOB_NAME
          ? (processTrialJob(job as unknown as Job<TrialJobData, ChildJobResult>, options, signal) as unknown as Promise<EncodeJobResult>)
          : processEncodeJob(job, options, signal, { queue: flowQueue, token }),
    {
      connection: client,
      name: options.name ?? `${os.hostname()}:${process.pid}`,
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
  const onRedisError = pauseOnRedisErrors(worker, log);
  worker.on('error', (err) => {
    if (!onRedisError(err)) log.error({ err: err.message }, 'worker error');
  });
  // BullMQ leaves a connection it was given open.
  worker.on('closed', () => {
    void flowQueue.close().finally(() => client.disconnect());
  });
  await worker.waitUntilReady();
  // Scoring VMAF is most of a per-title job's time; in libvmaf 1.x with THP not `always` it is about 1.3x slower than it need be.
  const model = options.config.vmafModelPath;
  const advice = model && (await vmafScoredByLibvmaf1(model, options.paths)) ? vmafThpAdvice(await transparentHugePagesMode()) : undefined;
  if (advice) log.warn(advice);
  return worker;
}

/** Cancels running encodes (their ffmpeg processes end) and closes the worker. */
export async function stopEncodeWorker(worker: Worker): Promise<void> {
  worker.cancelAllJobs('worker shutting down');
  await worker.close();
}

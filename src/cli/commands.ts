/**
 * Actions of the `vod` subcommands other than serve/demo. Each gets the CLI context and its
 * parsed flags; user errors are thrown as UserError for main() to report.
 */
import type { VideoCodec } from '../encoder/fixed-ladder.js';
import type { AudioStreamInfo, SubtitleStreamInfo } from '../encoder/media-info.js';
import { listTitles, type TitleRecord } from '../origin/catalog.js';
import { playbackPath, type LadderKind } from '../title/title-address.js';
import { startOriginServer } from '../origin/origin-server.js';
import { startEdgeServer } from '../edge-cache/edge-server.js';
import type { EdgePolicyName } from '../edge-cache/memory-tier.js';
import { EncodeQueue, type ChildJobStatus, type EncodeJobStatus } from '../ingest/encode-queue.js';
import { startEncodeWorker, stopEncodeWorker } from '../ingest/encode-worker.js';
import { ensureRedis, superviseRedis, type RedisHandle } from '../ingest/redis-server.js';
import { uploadMaster, type UploadResult } from '../ingest/upload.js';
import type { Protection } from '../keys/content-keys.js';
import { startKeyServer } from '../keys/key-server.js';
import { UserError } from '../util/errors.js';
import type { CliContext } from './context.js';
import { createEncodeProgressView } from './encode-progress.js';

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Playback and player URLs of a title on the public edge. */
export function titleUrls(ctx: CliContext, titleId: string): { playbackUrl: string; playerUrl: string } {
  return {
    playbackUrl: `${ctx.config.publicEdgeUrl}${playbackPath(titleId)}`,
    playerUrl: `${ctx.config.publicEdgeUrl}/player/?title=${titleId}`,
  };
}

/**
 * Uploads one master and, unless `wait` is false, shows its encode until it is published.
 * Shared by `vod upload` and `vod demo` (which passes its own Redis and queue).
 * @returns the upload result and the final job status (undefined when not waited for).
 * @throws UserError when the master is invalid, Redis is unreachable or the encode fails for good.
 */
export async function uploadAndWait(
  ctx: CliContext,
  file: string,
  opts: { title?: string | undefined; wait: boolean; ladder?: LadderKind; protection?: Protection | undefined; subtitles?: readonly { language: string; file: string }[] | undefined; codecs?: readonly VideoCodec[] | undefined },
  shared?: { redis: RedisHandle; queue: EncodeQueue },
): Promise<UploadResult> {
  let redis = shared?.redis;
  let queue = shared?.queue;
  const openQueue = async () => {
    redis ??= await ensureRedis(ctx.config, ctx.log);
    queue ??= new EncodeQueue(redis, ctx.config, ctx.config.queueName);
    return queue;
  };
  try {
    const result = await uploadMaster({ file, ...(opts.title ? { title: opts.title } : {}), ...(opts.ladder ? { ladder: opts.ladder } : {}), ...(opts.protection ? { protection: opts.protection } : {}), ...(opts.subtitles?.length ? { subtitles: opts.subtitles } : {}), ...(opts.codecs ? { codecs: opts.codecs } : {}) }, { store: ctx.store, queue: openQueue, paths: ctx.paths });
    const { playbackUrl, playerUrl } = titleUrls(ctx, result.titleId);
    const v = result.probe.video!;
    process.stdout.write(
      `Title id:     ${result.titleId}\nTitle:        ${result.title}\nMaster:       ${v.width}x${v.height} ${v.codecName}, ${result.probe.durationS.toFixed(1)} s${audioSummary(result.probe.audioStreams)}${subtitleSummary(result.probe.subtitleStreams)}\n`,
    );
    if (result.state === 'published') {
      process.stdout.write(`State:        already published\nPlayback URL: ${playbackUrl}\nPlayer:       ${playerUrl}\n`);
      return result;
    }
    if (opts.protection) process.stdout.write(`Encryption:   ${opts.protection.scheme}${opts.protection.keyRotationSegments ? `, a new key every ${opts.protection.keyRotationSegments} segments` : ''}; keys from ${opts.protection.keyServerUrl} (vod keys)\n`);
    process.stdout.write(`State:        ${result.enqueued ? 'queued' : `already queued (${result.state})`}\n`);
    if (!opts.wait) {
      process.stdout.write(`Playback URL: ${playbackUrl} (once published; follow with: vod status ${result.titleId})\n`);
      return result;
    }
    const view = createEncodeProgressView(result.title.slice(0, 24));
    let final: EncodeJobStatus;
    try {
      final = await queue!.waitUntilFinished(result.titleId, (s) => view.update(s));
    } finally {
      view.stop();
    }
    if (final.state !== 'completed') {
      throw new UserError(`Encoding ${result.titleId} failed after ${Math.max(final.attemptsMade, final.attemptsStarted)} attempt(s): ${firstLine(final.failedReason)}`, { exitCode: 1 });
    }
    process.stdout.write(`State:        published\nPlayback URL: ${playbackUrl}\nPlayer:       ${playerUrl}\n`);
    return result;
  } finally {
    if (!shared) await queue?.close();
  }
}

/** `, audio aac` / `, 2 audio tracks aac (en, fr)` / `, no audio`, for the upload summary. */
function audioSummary(streams: readonly AudioStreamInfo[]): string {
  if (streams.length === 0) return ', no audio';
  const codecs = [...new Set(streams.map((a) => a.codecName))].join('/');
  const languages = streams.map((a) => a.language ?? 'und').join(', ');
  return streams.length === 1 ? `, audio ${codecs}${streams[0]!.language ? ` (${streams[0]!.language})` : ''}` : `, ${streams.length} audio tracks ${codecs} (${languages})`;
}

/** `Audio:` and `Subtitles:` lines of a published title: each track's name, language, channels and codec. */
function tracksLines(record: TitleRecord): string[] {
  const audio = record.renditions.flatMap((r) => (r.kind === 'audio' ? [`${r.name ?? 'Main'}${r.language ? ` (${r.language})` : ''} ${r.channels} ch ${r.codecs}${r.isDefault ? ', default' : ''}`] : []));
  const subtitles = (record.subtitles ?? []).map((t) => `${t.name}${t.language ? ` (${t.language})` : ''}${t.isForced ? ', forced' : ''}${t.isDefault ? ', default' : ''}`);
  return [...(audio.length > 0 ? [`Audio:     ${audio.join('; ')}`] : []), ...(subtitles.length > 0 ? [`Subtitles: ${subtitles.join('; ')}`] : [])];
}

/** `, 2 subtitle tracks (en, fr)` for the text subtitle streams the title will publish; '' for none. */
function subtitleSummary(streams: readonly SubtitleStreamInfo[]): string {
  const text = streams.filter((s) => s.isText);
  const skipped = streams.length - text.length;
  const part = text.length === 0 ? '' : `, ${text.length} subtitle track${text.length > 1 ? 's' : ''} (${text.map((s) => s.language ?? 'und').join(', ')})`;
  return skipped > 0 ? `${part}, ${skipped} bitmap subtitle stream${skipped > 1 ? 's' : ''} left out (WebVTT is text)` : part;
}

function firstLine(text: string | undefined): string {
  return (text ?? 'unknown reason').split('\n')[0]!;
}

export async function runUpload(ctx: CliContext, file: string, opts: Parameters<typeof uploadAndWait>[2]): Promise<void> {
  await uploadAndWait(ctx, file, opts);
}

export async function runWorker(ctx: CliContext, opts: { concurrency: number; name?: string }): Promise<void> {
  const redis = await ensureRedis(ctx.config, ctx.log);
  // The embedded Redis is restarted if it dies, so the worker does not log ECONNREFUSED forever.
  const supervisor = superviseRedis(redis, ctx.config, ctx.log);
  const worker = await startEncodeWorker({
    redis,
    config: ctx.config,
    store: ctx.store,
    paths: ctx.paths,
    concurrency: opts.concurrency,
    log: ctx.log,
    queueName: ctx.config.queueName,
    ...(opts.name ? { name: opts.name } : {}),
  });
  ctx.log.info({ redis: redis.description, concurrency: opts.concurrency, store: ctx.store.description }, 'worker ready');
  const sig = await untilSignal();
  ctx.log.info({ signal: sig }, 'worker stopping; running encodes are cancelled and will be retried');
  supervisor.stop();
  await stopEncodeWorker(worker);
}

/**
 * `vod status [title] [--json] [--watch [s]]`: the encode jobs and published titles, or one
 * title with its child jobs. With `watch` the report is redrawn every `watch` seconds (the screen
 * cleared on a terminal; with `json`, one compact JSON object per line with the poll time `at`)
 * until the title's job has completed or failed, or until Ctrl-C; without a title, until Ctrl-C.
 * @throws UserError when the title id is neither queued nor published, or Redis is unreachable.
 */
export async function runStatus(ctx: CliContext, titleId: string | undefined, opts: { json?: boolean; watch?: number }): Promise<void> {
  const redis = await ensureRedis(ctx.config, ctx.log);
  const queue = new EncodeQueue(redis, ctx.config, ctx.config.queueName);
  try {
    if (opts.watch === undefined) {
      process.stdout.write(`${(await statusReport(ctx, queue, titleId, opts.json ? 'pretty' : undefined)).text}\n`);
      return;
    }
    const stop = untilSignal();
    let stopped = false;
    void stop.then(() => (stopped = true));
    const clear = !opts.json && process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
    for (;;) {
      const report = await statusReport(ctx, queue, titleId, opts.json ? 'line' : undefined);
      process.stdout.write(`${clear}${report.text}\n${opts.json || clear ? '' : '\n'}`);
      if (report.finished || stopped) return;
      await Promise.race([stop, new Promise((r) => setTimeout(r, opts.watch! * 1000))]);
      if (stopped) return;
    }
  } finally {
    await queue.close();
  }
}

/**
 * One `vod status` report: `json` 'pretty' (indented) or 'line' (one line, with the poll start time
 * `at`), a table otherwise. `finished` tells a watch to stop: the title's job completed or failed.
 * @throws UserError when the title id is neither queued nor published.
 */
async function statusReport(ctx: CliContext, queue: EncodeQueue, titleId: string | undefined, json: 'pretty' | 'line' | undefined): Promise<{ text: string; finished: boolean }> {
  const at = new Date().toISOString();
  const asJson = (value: object) => (json === 'line' ? JSON.stringify({ at, ...value }) : JSON.stringify(value, null, 2));
  const published = await listTitles(ctx.store);
  if (titleId) {
    const job = await queue.status(titleId);
    const record = published.find((t) => t.titleId === titleId);
    if (!job && !record) throw new UserError(`No upload or published title has the id ${titleId}.`);
    const children = job?.children ? await queue.children(titleId) : [];
    const finished = !job || job.state === 'completed' || job.state === 'failed';
    if (json) return { text: asJson({ job, children, published: record ?? null }), finished };
    const lines = [`Title id:  ${titleId}`, `Title:     ${record?.title ?? job?.title}`];
    if (record) {
      lines.push(
        `Published: ${record.publishedAt} (${record.renditions.length} renditions, encode ${record.encodeTimeS.toFixed(1)} s)`,
        `Ladder:    ${record.ladder}${record.qualityMetric ? `, quality measured with ${record.qualityMetric.toUpperCase()}` : ''}`,
        ...tracksLines(record),
        `Playback:  ${titleUrls(ctx, titleId).playbackUrl}`,
      );
    }
    if (job) {
      lines.push(`Job state: ${job.state}${job.progress ? ` (${job.progress.stage} ${job.progress.percent.toFixed(1)}%${job.progress.rendition ? `, ${job.progress.rendition}` : ''})` : ''}`);
      lines.push(`Attempts:  ${job.attemptsStarted}/${job.attempts} started${job.stalls ? ` (${job.stalls} ended with the worker dying)` : ''}`);
      if (job.failedReason) lines.push(`Failure:   ${job.failedReason.split('\n').join('\n           ')}`);
      if (children.length > 0) lines.push(...childLines(children));
    }
    return { text: lines.join('\n'), finished };
  }
  const jobs = await queue.list();
  if (json) return { text: asJson({ jobs, published }), finished: false };
  const rows = jobs.map((j) => [
    j.titleId,
    j.state,
    `${j.progress ? `${j.progress.percent.toFixed(0)}% ${j.progress.stage}` : ''}${j.children ? ` (${j.children.done}/${j.children.total} ${j.flowStep === 'analyze' ? 'analysis' : 'child'} jobs)` : ''}`,
    `${j.attemptsStarted}/${j.attempts}`,
    j.title.slice(0, 30),
    firstLine(j.failedReason ?? '').replace('unknown reason', '').slice(0, 60),
  ]);
  const titles = published.map((t) => [t.titleId, t.ladder, String(t.renditions.filter((r) => r.kind === 'video').length), `${t.durationS.toFixed(1)} s`, t.title]);
  return {
    text: `Jobs (${rows.length}):\n${table(['TITLE ID', 'STATE', 'PROGRESS', 'TRIES', 'TITLE', 'FAILURE'], rows)}\nPublished titles (${published.length}):\n${table(['TITLE ID', 'LADDER', 'RENDITIONS', 'DURATION', 'TITLE'], titles)}`,
    finished: false,
  };
}

/** Most unfinished child jobs listed one per line by `vod status <id>`. */
const MAX_CHILD_LINES = 20;

/**
 * A chunked title's children for `vod status <id>`: done / in all, each worker's share and what
 * it holds now, then the unfinished children (running first).
 */
function childLines(children: readonly ChildJobStatus[]): string[] {
  const done = children.filter((c) => c.state === 'completed').length;
  const running = children.filter((c) => c.state === 'active');
  const label = (c: ChildJobStatus) => (c.kind === 'audio' ? (c.rendition ?? 'audio') : c.kind === 'trials' ? `trials ${c.rendition}` : `${c.rendition ? `${c.rendition} ` : ''}chunk ${c.chunkIndex}`);
  const trials = children.filter((c) => c.kind === 'trials');
  const trialsDone = trials.filter((c) => c.state === 'completed').length;
  const lines = [
    ...(trials.length > 0 ? [`Analysis:  ${trialsDone}/${trials.length} trial jobs done`] : []),
    `Chunks:    ${done - trialsDone}/${children.length - trials.length} child jobs done, ${running.length} running`,
  ];
  const byWorker = new Map<string, { done: number; holds: ChildJobStatus[] }>();
  for (const c of children) {
    if (!c.worker || (c.state !== 'completed' && c.state !== 'active')) continue;
    const w = byWorker.get(c.worker) ?? { done: 0, holds: [] };
    if (c.state === 'completed') w.done += 1;
    else w.holds.push(c);
    byWorker.set(c.worker, w);
  }
  for (const [name, w] of [...byWorker].sort(([a], [b]) => a.localeCompare(b))) {
    const holds = w.holds.map((c) => `${label(c)}${c.progress ? ` ${c.progress.stage} ${c.progress.percent.toFixed(0)}%` : ''}`);
    lines.push(`  worker ${name}: ${w.done} done${holds.length ? `; holds ${holds.join(', ')}` : ''}`);
  }
  const open = children.filter((c) => c.state !== 'completed').sort((a, b) => Number(b.state === 'active') - Number(a.state === 'active'));
  if (open.length > 0) {
    const rows = open.slice(0, MAX_CHILD_LINES).map((c) => [label(c), c.state, c.worker && c.state === 'active' ? c.worker : '', String(c.attemptsStarted)]);
    lines.push(...table(['  CHILD', 'STATE', 'WORKER', 'STARTS'], rows.map((r) => [`  ${r[0]}`, ...r.slice(1)])).split('\n'));
    if (open.length > MAX_CHILD_LINES) lines.push(`  … and ${open.length - MAX_CHILD_LINES} more`);
  }
  return lines;
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export async function runOrigin(ctx: CliContext, opts: { port?: number; host?: string }): Promise<void> {
  const server = await startOriginServer({ store: ctx.store, log: ctx.log, host: opts.host ?? ctx.config.host, port: opts.port ?? ctx.config.originPort }).catch(wrapListenError);
  process.stdout.write(`Origin serving ${ctx.store.description} at ${server.url} (catalog: ${server.url}/titles)\n`);
  await untilSignal();
  await server.close();
}

/** `vod keys`: the key server of encrypted titles (keys/key-server.ts). */
export async function runKeyServer(ctx: CliContext, opts: { port?: number; host?: string; signingKey?: string }): Promise<void> {
  const signingKey = opts.signingKey ?? ctx.config.signingKey;
  if (!signingKey) throw new UserError('vod keys needs the signing key of playback tokens (--signing-key or VOD_SIGNING_KEY), the same as the edges\'.');
  const server = await startKeyServer({ store: ctx.store, signingKey, log: ctx.log, host: opts.host ?? ctx.config.host, port: opts.port ?? ctx.config.keyPort }).catch(wrapListenError);
  process.stdout.write(`Key server at ${server.url}/keys/<title>/<period> (keys from ${ctx.store.description}); playlists point at ${ctx.config.keyServerUrl}\n`);
  await untilSignal();
  await server.close();
}

export interface EdgeFlags {
  origin: string;
  parent: string[];
  cacheBytes: number;
  policy: EdgePolicyName;
  diskCache?: string;
  diskBytes?: number;
  fillTimeout: number;
  signingKey?: string;
  requireSignature?: boolean;
  adminToken?: string;
  name?: string;
  accessLog?: string;
  port?: number;
  host?: string;
}

export async function runEdge(ctx: CliContext, opts: EdgeFlags): Promise<void> {
  if (opts.diskCache && !opts.diskBytes) throw new UserError('--disk-cache needs --disk-bytes (the size of the disk tier).');
  const signingKey = opts.signingKey ?? ctx.config.signingKey;
  if (opts.requireSignature && !signingKey) throw new UserError('--require-signature needs a signing key (--signing-key or VOD_SIGNING_KEY).');
  const server = await startEdgeServer({
    originUrl: opts.origin,
    parentUrls: opts.parent,
    cacheBytes: opts.cacheBytes,
    policy: opts.policy,
    fillTimeoutMs: opts.fillTimeout,
    ...(opts.diskCache ? { diskCacheDir: opts.diskCache, diskBytes: opts.diskBytes! } : {}),
    ...(signingKey ? { signingKey } : {}),
    ...(opts.requireSignature ? { requireSignature: true } : {}),
    ...((opts.adminToken ?? ctx.config.adminToken) ? { adminToken: (opts.adminToken ?? ctx.config.adminToken)! } : {}),
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.accessLog ? { accessLogPath: opts.accessLog } : {}),
    playerDir: ctx.config.playerDir,
    netTracesDir: ctx.config.netTracesDir,
    log: ctx.log,
    host: opts.host ?? ctx.config.host,
    port: opts.port ?? ctx.config.edgePort,
  }).catch(wrapListenError);
  const upstreams = [...opts.parent, opts.origin].join(' then ');
  process.stdout.write(
    `Edge ${server.edge.name} at ${server.url} filling from ${upstreams}; memory ${opts.cacheBytes} bytes (${opts.policy})${opts.diskCache ? `, disk ${opts.diskBytes} bytes in ${opts.diskCache}` : ''}${signingKey ? ', signed URLs checked' : ''}\nPlayer:  ${server.url}/player/\nMetrics: ${server.url}/metrics\n`,
  );
  await untilSignal();
  await server.close();
}

/** Turns "port in use" into a user error. */
export function wrapListenError(err: unknown): never {
  const msg = (err as Error).message ?? String(err);
  if (/already in use/.test(msg)) throw new UserError(`Cannot listen: ${msg}; pick another port with --port.`, { exitCode: 1 });
  throw err;
}

/**
 * Actions of the `vod` subcommands other than serve/demo and status (status-command.ts). Each gets the CLI context and its
 * parsed flags; user errors are thrown as UserError for main() to report.
 */
import type { VideoCodec } from '../encoder/fixed-ladder.js';
import type { AudioStreamInfo, SubtitleStreamInfo } from '../encoder/media-info.js';
import { playbackPath, type LadderKind } from '../title/title-address.js';
import type { EdgePolicyName } from '../edge-cache/memory-tier.js';
import { EncodeQueue, type EncodeJobStatus } from '../ingest/encode-queue.js';
import { ensureRedis, superviseRedis, type RedisHandle } from '../ingest/redis-server.js';
import { uploadMaster, type UploadResult } from '../ingest/upload.js';
import type { Protection } from '../keys/content-keys.js';
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
      `Title id:     ${result.titleId}\nTitle:        ${result.title}\nMaster:       ${v.width}x${v.height}${shownSize(v)} ${v.codecName}, ${result.probe.durationS.toFixed(1)} s${audioSummary(result.probe.audioStreams)}${subtitleSummary(result.probe.subtitleStreams)}\n`,
    );
    if (result.wrappedRawStream !== undefined) {
      process.stdout.write(`Container:    none (a raw ${result.wrappedRawStream} stream); stored wrapped in MP4 at ${Number(v.frameRate.toFixed(3))} fps (the stream's own timing), nothing re-encoded\n`);
    }
    if (result.remuxedFromStream !== undefined) {
      process.stdout.write(`Picture:      video stream 0:v:${result.remuxedFromStream} (the first is not the main picture); stored a copy with it first, nothing re-encoded\n`);
    }
    if (result.state === 'published') {
      process.stdout.write(`State:        already published (to encode it again with other settings: vod remove ${result.titleId}, then upload; it gets a new id)\nPlayback URL: ${playbackUrl}\nPlayer:       ${playerUrl}\n`);
      return result;
    }
    if (opts.protection) process.stdout.write(`Encryption:   ${opts.protection.scheme}${opts.protection.keyRotationSegments ? `, a new key every ${opts.protection.keyRotationSegments} segments` : ''}; keys from ${opts.protection.keyServerUrl} (vod keys)\n`);
    process.stdout.write(`State:        ${result.enqueued ? 'queued' : `already queued (${result.state})`}\n`);
    if (!opts.wait) {
      process.stdout.write(`Playback URL: ${playbackUrl} (once published; follow with: vod status ${result.titleId})\n`);
      return result;
    }
    const final = await followEncode(queue!, result);
    if (final.state !== 'completed') {
      throw new UserError(`Encoding ${result.titleId} failed after ${Math.max(final.attemptsMade, final.attemptsStarted)} attempt(s): ${firstLine(final.failedReason)}`, { exitCode: 1 });
    }
    process.stdout.write(`State:        published\nPlayback URL: ${playbackUrl}\nPlayer:       ${playerUrl}\n`);
    return result;
  } finally {
    if (!shared) await queue?.close();
  }
}

/** Waits until an uploaded title's encode completes or fails, showing its progress bar; its last status. */
async function followEncode(queue: EncodeQueue, upload: UploadResult): Promise<EncodeJobStatus> {
  const view = createEncodeProgressView(upload.title.slice(0, 24));
  try {
    return await queue.waitUntilFinished(upload.titleId, (s) => view.update(s));
  } finally {
    view.stop();
  }
}

/** ` (shown 720x1280)` when the picture is shown at another size than it is coded (a phone's rotation, non-square pixels), else ''. */
function shownSize(v: { width: number; height: number; displayWidth: number; displayHeight: number }): string {
  return v.displayWidth !== v.width || v.displayHeight !== v.height ? ` (shown ${v.displayWidth}x${v.displayHeight})` : '';
}

/** `, audio aac` / `, 2 audio tracks aac (en, fr)` / `, no audio`, for the upload summary. */
function audioSummary(streams: readonly AudioStreamInfo[]): string {
  if (streams.length === 0) return ', no audio';
  const codecs = [...new Set(streams.map((a) => a.codecName))].join('/');
  const languages = streams.map((a) => a.language ?? 'und').join(', ');
  return streams.length === 1 ? `, audio ${codecs}${streams[0]!.language ? ` (${streams[0]!.language})` : ''}` : `, ${streams.length} audio tracks ${codecs} (${languages})`;
}

/** `, 2 subtitle tracks (en, fr)` for the text subtitle streams the title will publish; '' for none. */
function subtitleSummary(streams: readonly SubtitleStreamInfo[]): string {
  const text = streams.filter((s) => s.isText);
  const skipped = streams.length - text.length;
  const part = text.length === 0 ? '' : `, ${text.length} subtitle track${text.length > 1 ? 's' : ''} (${text.map((s) => s.language ?? 'und').join(', ')})`;
  return skipped > 0 ? `${part}, ${skipped} bitmap subtitle stream${skipped > 1 ? 's' : ''} left out (WebVTT is text)` : part;
}

export function firstLine(text: string | undefined): string {
  return (text ?? 'unknown reason').split('\n')[0]!;
}

/**
 * `vod upload <files...>`. One file: uploadAndWait. Several (a catalog): each is checked, stored
 * and queued in turn over one queue connection; a file that is refused (UserError: not a video,
 * truncated, ...) is reported on its own line and the others go on. With `wait`, the titles are
 * then followed one after another (each with its progress bar) until published or failed.
 * @throws UserError (exit 2) for `--title` or `--subtitles` with several files, and, after every
 *   file was handled, when any was refused; (exit 1) when any encode failed.
 */
export async function runUpload(ctx: CliContext, files: readonly string[], opts: Parameters<typeof uploadAndWait>[2]): Promise<void> {
  if (files.length === 1) {
    await uploadAndWait(ctx, files[0]!, opts);
    return;
  }
  if (opts.title) throw new UserError('--title names one title: give it with one file (several files take their file names).');
  if (opts.subtitles?.length) throw new UserError('--subtitles belong to one master: give them with one file.');
  const redis = await ensureRedis(ctx.config, ctx.log);
  const queue = new EncodeQueue(redis, ctx.config, ctx.config.queueName);
  try {
    const queued: UploadResult[] = [];
    let refused = 0;
    for (const [i, file] of files.entries()) {
      process.stdout.write(`${i > 0 ? '\n' : ''}[${i + 1}/${files.length}] ${file}\n`);
      try {
        queued.push(await uploadAndWait(ctx, file, { ...opts, wait: false }, { redis, queue }));
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        refused += 1;
        process.stderr.write(`vod: ${err.message}\n`);
      }
    }
    let failed = 0;
    if (opts.wait) {
      const toFollow = queued.filter((r, i) => r.state !== 'published' && queued.findIndex((q) => q.titleId === r.titleId) === i);
      for (const result of toFollow) {
        const final = await followEncode(queue, result);
        if (final.state === 'completed') process.stdout.write(`Published:    ${result.title} (${result.titleId}): ${titleUrls(ctx, result.titleId).playerUrl}\n`);
        else {
          failed += 1;
          process.stderr.write(`vod: encoding ${result.title} (${result.titleId}) failed: ${firstLine(final.failedReason)}\n`);
        }
      }
    }
    const done = opts.wait ? `${queued.length - failed} published` : `${queued.length} queued`;
    if (refused > 0) throw new UserError(`${refused} of ${files.length} files refused (above); ${done}${failed ? `, ${failed} failed` : ''}.`);
    if (failed > 0) throw new UserError(`${failed} of ${files.length} encodes failed (above); ${done}.`, { exitCode: 1 });
    process.stdout.write(`\nAll ${files.length} files ${opts.wait ? 'published' : 'queued'}.\n`);
  } finally {
    await queue.close();
  }
}

export async function runWorker(ctx: CliContext, opts: { concurrency: number; name?: string }): Promise<void> {
  const redis = await ensureRedis(ctx.config, ctx.log);
  // The embedded Redis is restarted if it dies, so the worker does not log ECONNREFUSED forever.
  const supervisor = superviseRedis(redis, ctx.config, ctx.log);
  // The servers and the worker are imported by the command that runs them (an upload loads neither).
  const { startEncodeWorker, stopEncodeWorker } = await import('../ingest/encode-worker.js');
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

export async function runOrigin(ctx: CliContext, opts: { port?: number; host?: string }): Promise<void> {
  const { startOriginServer } = await import('../origin/origin-server.js');
  const server = await startOriginServer({ store: ctx.store, log: ctx.log, host: opts.host ?? ctx.config.host, port: opts.port ?? ctx.config.originPort }).catch(wrapListenError);
  process.stdout.write(`Origin serving ${ctx.store.description} at ${server.url} (catalog: ${server.url}/titles)\n`);
  await untilSignal();
  await server.close();
}

/** `vod keys`: the key server of encrypted titles (keys/key-server.ts). */
export async function runKeyServer(ctx: CliContext, opts: { port?: number; host?: string; signingKey?: string }): Promise<void> {
  const signingKey = opts.signingKey ?? ctx.config.signingKey;
  if (!signingKey) throw new UserError('vod keys needs the signing key of playback tokens (--signing-key or VOD_SIGNING_KEY), the same as the edges\'.');
  const { startKeyServer } = await import('../keys/key-server.js');
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
  const { startEdgeServer } = await import('../edge-cache/edge-server.js');
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

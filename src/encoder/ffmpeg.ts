/**
 * The one module that runs ffmpeg and ffprobe (DESIGN.md: nothing else spawns them).
 *
 * Commands are built with fluent-ffmpeg and run on the binaries shipped by
 * @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe unless FFMPEG_PATH / FFPROBE_PATH
 * say otherwise. fluent-ffmpeg is archived upstream; this module works around its known
 * defects instead of trusting them:
 * - progress: fluent's `percent` is computed from input timemarks and is often wrong; we
 *   ask ffmpeg for `-progress pipe:1` and divide its `out_time` by the probed duration;
 * - cancellation: fluent's `kill()` only signals a process it still knows about; we keep
 *   the child process and end it ourselves (SIGTERM, then SIGKILL after a grace period),
 *   and only settle once it has exited;
 * - errors: fluent's error drops ffmpeg's output; every `FfmpegError` ends with the last
 *   lines ffmpeg wrote to stderr.
 * Every ffmpeg and ffprobe process runs with FFMPEG_CHILD_ENV (below).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import ffmpegFactory from 'fluent-ffmpeg';
import type { VodConfig } from '../config.js';
import { fullDiskOf } from '../util/disk-space.js';
import { EncodeCancelledError, FfmpegError } from '../util/errors.js';
import { describeMedia, type FfprobeData, type ProbeResult } from './media-info.js';

const require = createRequire(import.meta.url);
const execFileAsync = promisify(execFile);

/** How many of ffmpeg's last stderr lines an error carries. */
export const OUTPUT_TAIL_LINES = 12;
/** Grace period between SIGTERM and SIGKILL when cancelling an encode, in ms. */
export const KILL_GRACE_MS = 2_000;

/**
 * Environment every ffmpeg and ffprobe process gets on top of ours. The npm-shipped binaries
 * are statically linked against glibc, whose iconv loads character-set modules with dlopen; a
 * static binary that finds the system's module cache (Debian's
 * /usr/lib/x86_64-linux-gnu/gconv) dlopens a foreign glibc's code and crashes. FFmpeg's MPEG-TS
 * demuxer converts service names with iconv, so the shipped ffprobe died with SIGSEGV on every
 * .ts master (seen on this Debian 12 machine; the same crash is reported against other static
 * builds, e.g. gradio-app/gradio issue 13848). With GCONV_PATH set, glibc skips the cache and
 * looks only for modules on that path: an empty value finds none, iconv_open fails cleanly and
 * FFmpeg keeps the raw name. A GCONV_PATH of the user's own is kept.
 */
export const FFMPEG_CHILD_ENV: Readonly<Record<string, string>> = Object.freeze<Record<string, string>>(process.env.GCONV_PATH === undefined ? { GCONV_PATH: '' } : {});

/** This process's environment with FFMPEG_CHILD_ENV and `extra` on top: the `env` of an ffmpeg or ffprobe child. */
export function ffmpegChildEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...FFMPEG_CHILD_ENV, ...extra };
}

export interface FfmpegPaths {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
}

/**
 * Resolves the ffmpeg/ffprobe binaries: the config's overrides, else the npm-shipped ones.
 * @throws Error if the npm-shipped binary package is missing (run `npm ci`).
 */
export function resolveFfmpegPaths(config: Pick<VodConfig, 'ffmpegPath' | 'ffprobePath'>): FfmpegPaths {
  const ffmpegPath = config.ffmpegPath ?? (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  const ffprobePath = config.ffprobePath ?? (require('@ffprobe-installer/ffprobe') as { path: string }).path;
  return { ffmpegPath, ffprobePath };
}

/**
 * Probes a media file with ffprobe (`-show_format -show_streams`, JSON output).
 * @returns duration (s), container, size (bytes), the first video stream (its display size
 *          turned by the container's rotation), every audio and subtitle stream.
 * @throws FfmpegError when ffprobe cannot read the file (it fails, dies on a signal or writes
 *         no JSON); the message carries ffprobe's output.
 */
export async function probe(file: string, paths: FfmpegPaths): Promise<ProbeResult> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(paths.ffprobePath, ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file], { maxBuffer: 64 * 1024 * 1024, env: ffmpegChildEnv() }));
  } catch (err) {
    const e = err as { stderr?: string; signal?: string | null; code?: number | string | null; message: string };
    const lines = String(e.stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    if (e.signal) lines.push(`ffprobe was killed with signal ${e.signal}`);
    else if (lines.length === 0) lines.push(firstLine(e.message));
    throw new FfmpegError(`ffprobe could not read ${file}`, lines.slice(-OUTPUT_TAIL_LINES), typeof e.code === 'number' ? e.code : null);
  }
  let data: FfprobeData;
  try {
    data = JSON.parse(stdout) as FfprobeData;
  } catch {
    throw new FfmpegError(`ffprobe could not read ${file}`, ['ffprobe wrote no JSON'], null);
  }
  return describeMedia(data);
}

/**
 * When the first video frame that decodes is shown, s after the file's start (its earliest
 * stream): 0 for an MP4 whose streams start together; later for an MPEG-TS whose audio starts
 * first, and much later for a TS recorded from a broadcast, whose first pictures cannot be
 * decoded before its first keyframe (0.61 s in a TS cut at a packet inside a GOP). One frame is
 * decoded (ffmpeg's showinfo with -copyts: the stream's own timestamp, since without it ffmpeg
 * restamps a lone video stream from its own first frame) and the file's start subtracted.
 * @param fileStartS the file's start time on its own clock (ProbeResult.startTimeS).
 * @returns 0 when no frame decodes or ffmpeg prints no time.
 * @throws FfmpegError when ffmpeg cannot run on the file.
 */
export async function firstVideoFrameS(file: string, paths: FfmpegPaths, fileStartS: number): Promise<number> {
  const args = ['-hide_banner', '-nostdin', '-copyts', '-i', file, '-map', '0:v:0', '-frames:v', '1', '-vf', 'showinfo', '-f', 'null', '-'];
  let stderr: string;
  try {
    ({ stderr } = await execFileAsync(paths.ffmpegPath, args, { maxBuffer: 16 * 1024 * 1024, env: ffmpegChildEnv() }));
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? (err as Error).message);
    throw new FfmpegError(`ffmpeg could not decode the first frame of ${file}`, text.trim().split('\n').slice(-OUTPUT_TAIL_LINES), null);
  }
  const t = (parseShowinfoTimesS(stderr)[0] ?? 0) - fileStartS;
  return t > 0 ? t : 0;
}

/** The `pts_time:` of every frame ffmpeg's showinfo filter reported, s, ascending and positive. */
export function parseShowinfoTimesS(stderr: string): number[] {
  const times: number[] = [];
  for (const m of stderr.matchAll(/Parsed_showinfo[^\n]*\bpts_time:\s*(-?[0-9.]+)/g)) {
    const t = Number(m[1]);
    if (Number.isFinite(t) && t > 0) times.push(t);
  }
  return times.sort((a, b) => a - b);
}

export interface PacketInfo {
  /** Presentation timestamp in seconds. */
  readonly ptsS: number;
  readonly keyframe: boolean;
  readonly sizeBytes: number;
}

/**
 * Lists the packets of one stream (`v:0` by default) with ffprobe `-show_packets`.
 * Used to check keyframe alignment of published segments (an init segment followed by a
 * media segment, concatenated, is a playable fMP4 file).
 * @throws FfmpegError when ffprobe fails.
 */
export async function probePackets(file: string, paths: FfmpegPaths, stream = 'v:0'): Promise<PacketInfo[]> {
  try {
    const { stdout } = await execFileAsync(
      paths.ffprobePath,
      ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,flags,size', '-of', 'csv=p=0', file],
      { maxBuffer: 64 * 1024 * 1024, env: ffmpegChildEnv() },
    );
    return stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((line) => {
        const [pts, size, flags] = line.split(',');
        return { ptsS: Number(pts), sizeBytes: Number(size), keyframe: (flags ?? '').includes('K') };
      });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message);
    throw new FfmpegError(`ffprobe could not list packets of ${file}`, stderr.trim().split('\n').slice(-OUTPUT_TAIL_LINES), null);
  }
}

/**
 * The first video stream's keyframe times, s from the file's first video packet (the origin of
 * input seeking, `-ss`), ascending: demuxed, not decoded (probePackets), so a two-hour master
 * costs seconds. Chunk planning starts chunks near them (chunk-plan.ts).
 * @throws FfmpegError when ffprobe fails.
 */
export async function probeKeyframeTimesS(file: string, paths: FfmpegPaths): Promise<number[]> {
  const packets = (await probePackets(file, paths)).filter((p) => Number.isFinite(p.ptsS));
  const origin = packets.reduce((m, p) => Math.min(m, p.ptsS), Infinity);
  return packets
    .filter((p) => p.keyframe)
    .map((p) => p.ptsS - origin)
    .sort((a, b) => a - b);
}

/**
 * Where a stream's data ends (`stream`, an ffprobe stream specifier: default the first video
 * stream), in seconds: the largest `pts + duration` of its packets from `fromS` on (ffprobe
 * `-read_intervals`, reading packets without decoding, so it costs a seek and a few seconds of
 * demuxing however long the file is).
 * @returns undefined when no packet of the stream could be read there.
 * @throws FfmpegError when ffprobe fails.
 */
export async function probeStreamEndS(file: string, paths: FfmpegPaths, fromS: number, stream = 'v:0'): Promise<number | undefined> {
  try {
    // An open-ended interval (`START%`) reads nothing with the bundled ffprobe; `%+<offset>` does.
    const { stdout } = await execFileAsync(
      paths.ffprobePath,
      ['-v', 'error', '-select_streams', stream, '-read_intervals', `${Math.max(0, fromS).toFixed(3)}%+1000000`, '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file],
      { maxBuffer: 64 * 1024 * 1024, env: ffmpegChildEnv() },
    );
    let end: number | undefined;
    for (const line of stdout.split('\n')) {
      const [pts, dur] = line.split(',').map(Number);
      if (Number.isFinite(pts)) end = Math.max(end ?? 0, pts! + (Number.isFinite(dur) ? dur! : 0));
    }
    return end;
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message);
    throw new FfmpegError(`ffprobe could not read the end of ${file}`, stderr.trim().split('\n').slice(-OUTPUT_TAIL_LINES), null);
  }
}

export interface DecodeCheck {
  /** Where decoding started, s. */
  readonly atS: number;
  /** Frames that came out of the decoder. */
  readonly frames: number;
  /** Errors the decoder or demuxer reported (ffmpeg `-v error` lines). */
  readonly errors: readonly string[];
}

/**
 * Decodes `frames` frames of the first video stream from each of `pointsS` (input seeking to
 * the keyframe before, then decoding up to the point) and reports what came out: the cheap
 * way to tell a master whose headers are fine but whose media data is not (zeroed, garbage,
 * an unsupported codec feature) before it is stored and queued.
 * @throws FfmpegError when ffmpeg cannot run at all.
 */
export async function decodeCheck(file: string, paths: FfmpegPaths, pointsS: readonly number[], frames = 2): Promise<DecodeCheck[]> {
  const out: DecodeCheck[] = [];
  for (const atS of pointsS) {
    const args = ['-v', 'error', '-nostdin', '-ss', Math.max(0, atS).toFixed(3), '-i', file, '-map', '0:v:0', '-frames:v', String(frames), '-f', 'framemd5', '-'];
    const result = await execFileAsync(paths.ffmpegPath, args, { maxBuffer: 16 * 1024 * 1024, env: ffmpegChildEnv() }).catch((err: { stdout?: string; stderr?: string; message: string }) => ({
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? err.message,
    }));
    const decoded = result.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length;
    const errors = result.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    out.push({ atS, frames: decoded, errors: errors.slice(-OUTPUT_TAIL_LINES) });
  }
  return out;
}

export interface FfmpegInput {
  /** File path, or a lavfi graph when `format` is `lavfi`. */
  readonly source: string;
  readonly format?: string;
  readonly options?: readonly string[];
}

export interface FfmpegJob {
  readonly inputs: readonly FfmpegInput[];
  /** Output options (codec, filters, muxer options), in ffmpeg's argument order. */
  readonly outputOptions: readonly string[];
  /** Output file path. */
  readonly output: string;
  /**
   * Further outputs of the same process, each with its own options (`-map` of a filter-graph
   * label, codec…): one decode of the inputs feeds them all (the per-title trial encodes).
   */
  readonly moreOutputs?: readonly { readonly outputOptions: readonly string[]; readonly output: string }[];
}

export interface RunOptions {
  /** Duration of the output in seconds, for progress; 0 or absent = no progress callbacks. */
  readonly durationS?: number;
  /** Called with the fraction done in [0, 1] and ffmpeg's `out_time` in seconds. */
  readonly onProgress?: (fraction: number, outTimeS: number) => void;
  /** Aborting ends the ffmpeg process; the promise then rejects with EncodeCancelledError. */
  readonly signal?: AbortSignal;
  /** Called with the child's pid once ffmpeg has started (tests use it to check cancellation). */
  readonly onStart?: (pid: number | undefined) => void;
  /**
   * Environment variables for this ffmpeg process, on top of this process's own (e.g.
   * LIBVMAF_MALLOC_ENV for a process that scores VMAF).
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** Parses ffmpeg's `-progress` `out_time=HH:MM:SS.micro` value into seconds; NaN if unparsable. */
export function parseOutTime(value: string): number {
  const m = /^(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const s = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  return m[1] === '-' ? -s : s;
}

/**
 * Runs one ffmpeg command to completion.
 * @throws FfmpegError (with ffmpeg's last stderr lines) when ffmpeg fails, or when it exits 0
 *         but an output's disk is full (util/disk-space.ts: the bundled 2018 ffmpeg's muxers, hls
 *         in fmp4 mode among them, exit 0 when a write fails with ENOSPC, leaving cut segments and
 *         an empty playlist); EncodeCancelledError when `signal`
 *         aborts (the process has exited by then).
 */
export function runFfmpeg(job: FfmpegJob, paths: FfmpegPaths, options: RunOptions = {}): Promise<void> {
  const { signal, onProgress, durationS = 0 } = options;
  if (signal?.aborted) return Promise.reject(new EncodeCancelledError(abortReason(signal)));

  return new Promise<void>((resolve, reject) => {
    const command = ffmpegFactory();
    command.setFfmpegPath(paths.ffmpegPath);
    for (const input of job.inputs) {
      command.input(input.source);
      if (input.format) command.inputFormat(input.format);
      // Spread arguments: fluent-ffmpeg then passes each one as is (an array gets split on spaces).
      if (input.options?.length) command.inputOptions(...input.options);
    }
    command.outputOptions('-y', '-nostdin', '-nostats', '-progress', 'pipe:1', ...job.outputOptions);
    command.output(job.output);
    for (const more of job.moreOutputs ?? []) command.output(more.output).outputOptions(...more.outputOptions);
    withSpawnEnv(command, options.env ?? {});

    const tail: string[] = [];
    let child: ChildProcess | undefined;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;

    const onAbort = () => {
      cancelled = true;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child?.kill('SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
      }
    };

    const finish = (err: Error | null) => {
      signal?.removeEventListener('abort', onAbort);
      const settle = () => {
        if (killTimer) clearTimeout(killTimer);
        if (cancelled) reject(new EncodeCancelledError(abortReason(signal)));
        else if (err) reject(new FfmpegError(`ffmpeg failed writing ${job.output}: ${firstLine(err.message)}`, tail.slice(), child?.exitCode ?? null));
        else resolve();
      };
      // fluent-ffmpeg reports the end on the child's 'exit'; make sure it really has exited.
      if (child && child.exitCode === null && child.signalCode === null) child.once('exit', settle);
      else settle();
    };

    command.on('start', () => {
      child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      options.onStart?.(child?.pid);
      if (cancelled) onAbort();
      let pending = '';
      child?.stdout?.setEncoding('utf8');
      child?.stdout?.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (onProgress && durationS > 0 && line.startsWith('out_time=')) {
            const t = parseOutTime(line.slice('out_time='.length));
            if (Number.isFinite(t) && t >= 0) onProgress(Math.min(1, t / durationS), t);
          }
        }
      });
    });
    command.on('stderr', (line: string) => {
      tail.push(line);
      if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    });
    command.on('error', (err: Error) => finish(err));
    command.on('end', () => {
      fullDiskOf([job.output, ...(job.moreOutputs ?? []).map((o) => o.output)]).then(
        (full) => finish(full ? new Error(`the disk holding ${full.dir} is full (${full.freeBytes} bytes free), so ffmpeg's output is incomplete (this ffmpeg exits 0 when a write fails); free some space and retry`) : null),
        () => finish(null),
      );
    });

    signal?.addEventListener('abort', onAbort, { once: true });
    command.run();
  });
}

/**
 * Makes `command` spawn ffmpeg with `env` and FFMPEG_CHILD_ENV added to process.env (ffmpegChildEnv). fluent-ffmpeg has no option for
 * a child's environment (its run() passes only niceness, cwd and windowsHide to spawn), so this
 * wraps the instance's `_spawnFfmpeg(args, spawnOptions, processCB, endCB)`, which hands its
 * options to child_process.spawn as they are (fluent-ffmpeg 2.1, lib/processor.js; the package
 * is archived, so that private method will not move).
 */
function withSpawnEnv(command: ffmpegFactory.FfmpegCommand, env: Readonly<Record<string, string>>): void {
  type Spawn = (args: string[], spawnOptions: Record<string, unknown>, ...callbacks: unknown[]) => void;
  const target = command as unknown as { _spawnFfmpeg: Spawn };
  const spawnFfmpeg = target._spawnFfmpeg;
  if (typeof spawnFfmpeg !== 'function') throw new Error('fluent-ffmpeg has no _spawnFfmpeg: cannot set the ffmpeg process environment');
  target._spawnFfmpeg = function (this: unknown, args, spawnOptions, ...callbacks) {
    return spawnFfmpeg.call(this, args, { ...spawnOptions, env: ffmpegChildEnv(env) }, ...callbacks);
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** The message of a cancelled encode: the signal's reason (an Error's message or a string), else a default. */
export function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'string' && reason) return reason;
  return 'the encode was cancelled';
}

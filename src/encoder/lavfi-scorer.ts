/**
 * Scoring VMAF with libvmaf 2.3 instead of 1.3. The bundled ffmpeg (@ffmpeg-installer, an FFmpeg
 * 4.1 static build of 2018) links libvmaf 1.3.7; the bundled ffprobe (@ffprobe-installer, an
 * FFmpeg 6.1 static build of 2023, johnvansickle.com) links libvmaf 2.3.0, whose feature
 * extractors are integer and vectorised. ffprobe runs a filter graph through its `lavfi` input
 * device (FFmpeg's documentation, "lavfi" device: "ffprobe -f lavfi movie=...", each input read
 * by a `movie` source), so a comparison graph (quality-graph.ts concatenatedGraph) runs there
 * unchanged but for how it reads its inputs and names its model.
 *
 * The model: libvmaf 2.x cannot read the `.pkl` models of 1.x; it carries Netflix's v0.6.1 model
 * built in (`model=version=vmaf_v0.6.1`, computed on integer features). It is used only when the
 * configured model is that model — the files of ../shared/vmaf, by their SHA-256 — so any other
 * model keeps running in libvmaf 1.x from its own file. Same comparison on the two (a 1080p screen
 * recording, 5 trials, 85 scored frames, 2026-12-05): per-frame scores within 0.045 VMAF, means
 * within 0.025; the VMAF step 1.75× faster on this 2-core machine (about 5.6 → 3.2 s).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { EncodeCancelledError, FfmpegError } from '../util/errors.js';
import { LIBVMAF_MALLOC_ENV } from '../util/transparent-huge-pages.js';
import { abortReason, ffmpegChildEnv, KILL_GRACE_MS, OUTPUT_TAIL_LINES, probe, type FfmpegPaths, type RunOptions } from './ffmpeg.js';

/**
 * SHA-256 of Netflix's VMAF v0.6.1 model files as the Netflix/vmaf repository publishes them
 * (`model/vmaf_float_v0.6.1.pkl` and `.pkl.model`, commit f85a853; ../shared/vmaf/README.md):
 * the model libvmaf 2.x has built in as `vmaf_v0.6.1`.
 */
export const NETFLIX_VMAF_V061_SHA256 = Object.freeze({
  pkl: '5bc3153113be986e919d6135c6c4e0506b0d260f6b28407642faf8c4708fba80',
  model: 'e5a590c483ebec388aa0c5ecc88aeda354a0e4fcd94b52db0cc4d4c1ba17c29d',
});

/** libvmaf 2.x's name of its built-in v0.6.1 model. */
export const BUILT_IN_VMAF_V061 = 'vmaf_v0.6.1';

const sha256Of = async (file: string): Promise<string | undefined> =>
  fs.readFile(file).then(
    (bytes) => createHash('sha256').update(bytes).digest('hex'),
    () => undefined,
  );

const builtInByModel = new Map<string, Promise<string | undefined>>();
const lavfiByProbe = new Map<string, Promise<boolean>>();

/**
 * The libvmaf 2.x built-in model that is the configured one: BUILT_IN_VMAF_V061 when `modelPath`
 * (and its `.model` companion) are byte for byte Netflix's v0.6.1 files; undefined otherwise.
 * Memoised per path. Never rejects (an unreadable file is "not that model").
 */
export function builtInVmafModelFor(modelPath: string): Promise<string | undefined> {
  const key = path.resolve(modelPath);
  let known = builtInByModel.get(key);
  if (!known) {
    known = Promise.all([sha256Of(key), sha256Of(`${key}.model`)]).then(([pkl, model]) => (pkl === NETFLIX_VMAF_V061_SHA256.pkl && model === NETFLIX_VMAF_V061_SHA256.model ? BUILT_IN_VMAF_V061 : undefined));
    builtInByModel.set(key, known);
  }
  return known;
}

/**
 * Whether `paths.ffprobePath` can run a comparison graph with libvmaf 2.x: its `lavfi` device, the
 * `movie` source and a libvmaf filter that takes `model` (2.x; 1.x takes `model_path`). Memoised
 * per binary; an ffprobe that fails to answer counts as unable. Never rejects.
 */
export function lavfiVmafAvailable(paths: FfmpegPaths): Promise<boolean> {
  let known = lavfiByProbe.get(paths.ffprobePath);
  if (!known) {
    const ask = (args: string[]) => promisify(execFile)(paths.ffprobePath, ['-hide_banner', ...args], { env: ffmpegChildEnv(), maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout, () => '');
    known = Promise.all([ask(['-h', 'filter=libvmaf']), ask(['-h', 'filter=movie']), ask(['-devices'])]).then(
      ([vmaf, movie, devices]) => /^\s+model\s/m.test(vmaf) && /^\s+filename\s/m.test(movie) && /\blavfi\b/.test(devices),
    );
    lavfiByProbe.set(paths.ffprobePath, known);
  }
  return known;
}

/**
 * Links each input into `dir` under a plain name (`in<j>` and the file's extension when it is
 * plain), so a `movie` source reads it with no filter-graph escaping of whatever characters its
 * path holds. @returns each input's reading in a graph run with `dir` as its working folder:
 * `movie=in<j>.<ext>,`, to put where an ffmpeg graph has `[<j>:v]`.
 */
export async function linkGraphInputs(files: readonly string[], dir: string): Promise<string[]> {
  return Promise.all(
    files.map(async (file, j) => {
      const ext = /^\.[A-Za-z0-9]{1,8}$/.test(path.extname(file)) ? path.extname(file) : '';
      await fs.symlink(path.resolve(file), path.join(dir, `in${j}${ext}`));
      return `movie=in${j}${ext},`;
    }),
  );
}

/**
 * Runs a filter graph to its end in ffprobe's `lavfi` device, in `cwd` (where linkGraphInputs put
 * the inputs and where the graph's filters write their logs). The graph's one output is labelled
 * `out0`. ffprobe prints one line per output frame, which drives `run.onProgress`.
 * @param output the frames the graph outputs and their rate, frames/s, for progress (fraction =
 *        frames read / frames; time = frames read / rate).
 * @throws FfmpegError with ffprobe's last stderr lines when it fails; EncodeCancelledError when
 *         `run.signal` aborts (the process has exited by then).
 */
export function runLavfiGraph(graph: string, cwd: string, output: { frames: number; frameRate: number }, paths: FfmpegPaths, run: RunOptions = {}): Promise<void> {
  const { signal, onProgress } = run;
  const { frames, frameRate } = output;
  if (signal?.aborted) return Promise.reject(new EncodeCancelledError(abortReason(signal)));
  return new Promise((resolve, reject) => {
    const child = spawn(paths.ffprobePath, ['-v', 'error', '-f', 'lavfi', '-i', graph, '-show_entries', 'frame=pts', '-of', 'csv=p=0'], { cwd, env: ffmpegChildEnv(run.env), stdio: ['ignore', 'pipe', 'pipe'] });
    run.onStart?.(child.pid);
    const tail: string[] = [];
    let read = 0;
    let cancelled = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) read++;
      if (onProgress && frames > 0) onProgress(Math.min(1, read / frames), read / frameRate);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      tail.push(...chunk.split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - OUTPUT_TAIL_LINES));
    });
    const onAbort = () => {
      cancelled = true;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new FfmpegError(`ffprobe could not run the comparison graph: ${err.message}`, tail.slice(), null));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (cancelled) reject(new EncodeCancelledError(abortReason(signal)));
      else if (code !== 0) reject(new FfmpegError(`ffprobe failed running the comparison graph (exit ${code ?? sig})`, tail.slice(), code));
      else resolve();
    });
  });
}

/**
 * Runs a comparison graph in libvmaf 2.x (runLavfiGraph, with libvmaf's glibc malloc settings,
 * LIBVMAF_MALLOC_ENV) and says whether it could: false when ffprobe failed (FfmpegError) — a
 * `movie` source that cannot read an input as ffmpeg's `-i` does, or a build without what
 * lavfiVmafAvailable saw — so that the caller scores the same comparison with the bundled
 * ffmpeg's libvmaf 1.x instead of failing the encode. An input that neither can read then fails
 * there, with ffmpeg's own words.
 * @throws EncodeCancelledError when `run.signal` aborts.
 */
export async function scoredInLavfi(graph: string, cwd: string, output: { frames: number; frameRate: number }, paths: FfmpegPaths, run: RunOptions = {}): Promise<boolean> {
  return runLavfiGraph(graph, cwd, output, paths, { ...run, env: { ...LIBVMAF_MALLOC_ENV, ...run.env } }).then(
    () => true,
    (err: unknown) => {
      if (err instanceof FfmpegError) return false;
      throw err;
    },
  );
}

/** A graph's reading of input j from linkGraphInputs' list (quality-graph.ts `inputOf`). */
export const indexOf = (list: readonly string[]) => (j: number): string => list[j]!;

/**
 * The libvmaf 2.x built-in model to score `modelPath`'s model with (this module), or undefined
 * to score it with the bundled ffmpeg's libvmaf 1.x: when the model is not Netflix's v0.6.1, when
 * ffprobe cannot run the graph, or when VOD_LIBVMAF=1 asks for 1.x.
 */
export async function libvmaf2ModelFor(modelPath: string, paths: FfmpegPaths): Promise<string | undefined> {
  if (process.env.VOD_LIBVMAF === '1') return undefined;
  const builtIn = await builtInVmafModelFor(modelPath);
  return builtIn && (await lavfiVmafAvailable(paths)) ? builtIn : undefined;
}

/**
 * Whether VMAF with this model is scored by the bundled ffmpeg's libvmaf 1.x — whose speed depends
 * on the host's transparent huge pages (util/transparent-huge-pages.ts) — rather than libvmaf 2.x
 * in the bundled ffprobe (this module): true for a model other than Netflix's v0.6.1, an
 * ffprobe that cannot, or VOD_LIBVMAF=1. (A few comparisons use 1.x either way: a reference read
 * from windows of the master on every frame.)
 */
export async function vmafScoredByLibvmaf1(modelPath: string, paths: FfmpegPaths): Promise<boolean> {
  return (await libvmaf2ModelFor(modelPath, paths)) === undefined;
}

/**
 * Whether a `movie` source reads `file`'s pictures as ffmpeg's `-i` does: its only video stream
 * (movie picks the "best" one, ffmpeg's `[0:v]` the first) with no container rotation (ffmpeg
 * turns the frames by it, movie does not). A master read whole as the reference may be neither;
 * our decoded samples are both.
 */
async function movieReadsAlike(file: string, paths: FfmpegPaths): Promise<boolean> {
  const probed = await probe(file, paths).catch(() => undefined);
  return probed?.video !== undefined && probed.video.rotationDeg === 0 && (probed.videoStreams?.length ?? 1) === 1;
}

/**
 * The libvmaf 2.x model a one-process comparison (quality-metrics.ts) runs with here, or undefined for the
 * bundled ffmpeg: 2.x needs every input read whole — a `movie` source cannot seek as ffmpeg's -ss
 * does — and a reference that is not prepared must read alike there (movieReadsAlike). Decided
 * once per batch (the reference is probed once, not once per encode).
 * @param libvmaf2 libvmaf2ModelFor's answer for the spec's model.
 */
export async function oneProcessEngine(spec: { readonly reference: string; readonly referenceWindows?: readonly unknown[] | undefined }, prepared: string | undefined, libvmaf2: string | undefined, paths: FfmpegPaths): Promise<string | undefined> {
  if (!libvmaf2) return undefined;
  if (prepared !== undefined) return libvmaf2;
  return !spec.referenceWindows?.length && (await movieReadsAlike(spec.reference, paths)) ? libvmaf2 : undefined;
}

/**
 * Quality on a frame sample (quality-metrics.ts measureFrameScoresBatch, quality-graph.ts): the
 * kept frames score as every-frame scoring does, a VMAF batch in one process as each encode alone,
 * in libvmaf 2.x (the bundled ffprobe) and 1.x (the bundled ffmpeg). Real binaries, short
 * synthetic masters; VMAF with ../shared's v0.6.1 model.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths, runFfmpeg, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { measureFrameScoresBatch } from '../../../src/encoder/quality-metrics.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { LIBVMAF_MALLOC_ENV } from '../../../src/util/transparent-huge-pages.js';
import { SHARED_VMAF_MODEL as VMAF_MODEL } from '../../helpers/vmaf-model.js';

let paths: FfmpegPaths;
let dir: string;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
});

// VMAF scores in libvmaf 2.x (the bundled ffprobe, lavfi-scorer.ts) wherever the model is Netflix's
// v0.6.1 and the inputs are read whole or prepared; a reference read from windows of the master
// with every frame compared stays in libvmaf 1.x (the bundled ffmpeg). VOD_LIBVMAF=1 puts every
// score in 1.x, where the frame sample's scores are exactly every-frame scoring's.
describe.each([
  { engine: 'libvmaf 2.x', env: undefined },
  { engine: 'libvmaf 1.x', env: '1' },
])('quality on a frame sample ($engine)', ({ engine, env }) => {
  const v2 = env === undefined;
  beforeEach(() => {
    if (env === undefined) delete process.env.VOD_LIBVMAF;
    else process.env.VOD_LIBVMAF = env;
  });
  afterEach(() => {
    delete process.env.VOD_LIBVMAF;
  });

  it(`scores the kept frames as every-frame scoring does (${engine}), the reference decoded once for a VMAF batch`, async () => {
    // 4 s at 24 fps, a chunk window from 0.5 s: 84 frames compared; every 12th frame and its neighbours kept.
    const master = await makeSyntheticMaster({ path: path.join(dir, 'sampled.mp4'), durationS: 4, width: 320, height: 180, audio: false }, paths);
    const encodes = [];
    for (const crf of [26, 40]) {
      const out = path.join(dir, `sampled_crf${crf}.mp4`);
      await runFfmpeg({ inputs: [{ source: master, options: ['-ss', '0.5'] }], outputOptions: ['-vf', 'scale=160:90', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', String(crf)], output: out }, paths);
      encodes.push(out);
    }
    const spec = { reference: master, referenceWindows: [{ startS: 0.5, durationS: 3.5 }], width: 320, height: 180, frameRate: 24, ssim: true, vmafModelPath: VMAF_MODEL };
    const every = await measureFrameScoresBatch(spec, encodes, paths);
    const sampled = await measureFrameScoresBatch({ ...spec, frameSample: 12 }, encodes, paths);
    const n = every[0]!.mseY!.length;
    expect(n).toBe(84);
    // Frames 6, 18, 30, … (the middle of each stride) with their neighbours; the pad (frames 0 and 1) is dropped.
    const kept = [...Array(n).keys()].filter((i) => [5, 6, 7].includes(i % 12));
    expect(kept).toHaveLength(21);
    for (const j of [0, 1]) {
      expect(sampled[j]!.mseY).toEqual(kept.map((i) => every[j]!.mseY![i]));
      // SSIM's float sums may differ in the last printed digit (1e-6).
      expect(sampled[j]!.ssim).toEqual(kept.map((i) => expect.closeTo(every[j]!.ssim![i]!, 5)));
      // VMAF of frames 6, 18, 30, …: each fed between its own neighbours, so its motion feature, and score, are every-frame scoring's.
      // Every frame of a window is compared in libvmaf 1.x; with 2.x the sample's scores are 2.x's,
      // whose integer features put a frame within 0.05 of 1.x's at 1080p (lavfi-scorer.ts) and
      // within 0.12 on this 320x180 master.
      const scored = kept.filter((i) => i % 12 === 6);
      expect(sampled[j]!.vmaf!.length).toBe(scored.length);
      sampled[j]!.vmaf!.forEach((v, k) => (v2 ? expect(Math.abs(v - every[j]!.vmaf![scored[k]!]!)).toBeLessThan(0.25) : expect(v).toBeCloseTo(every[j]!.vmaf![scored[k]!]!, 3)));
    }
    // One encode alone (its process decodes the reference itself) scores the same as in the batch.
    expect(await measureFrameScoresBatch({ ...spec, frameSample: 12 }, [encodes[1]!], paths)).toEqual([sampled[1]]);
    // A span shorter than half a stride has no sample: every frame is compared instead.
    const short = { ...spec, referenceWindows: [{ startS: 0.5, durationS: 0.25 }] };
    const tiny = await measureFrameScoresBatch({ ...short, frameSample: 24 }, [encodes[0]!], paths);
    if (v2) {
      // The same sample scored in 1.x: within 0.25 frame by frame, and not all equal (2.x did score).
      process.env.VOD_LIBVMAF = '1';
      const old = await measureFrameScoresBatch({ ...spec, frameSample: 12 }, encodes, paths);
      delete process.env.VOD_LIBVMAF;
      for (const j of [0, 1]) sampled[j]!.vmaf!.forEach((v, k) => expect(Math.abs(v - old[j]!.vmaf![k]!)).toBeLessThan(0.25));
      expect(sampled.flatMap((x) => x.vmaf!)).not.toEqual(old.flatMap((x) => x.vmaf!));
    }
    expect(tiny).toEqual(await measureFrameScoresBatch(short, [encodes[0]!], paths));
    expect(tiny[0]!.vmaf!.length).toBe(tiny[0]!.mseY!.length); // VMAF on every frame compared
  });

  it('scores a VMAF batch in one process as each encode alone, and measures an encode that stops short alone', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'batched.mp4'), durationS: 4, width: 320, height: 180, audio: false }, paths);
    const encodes = [];
    for (const [crf, durationS] of [[24, 4], [30, 2], [34, 4], [44, 4]] as const) {
      const out = path.join(dir, `batched_crf${crf}_${durationS}s.mp4`);
      await runFfmpeg({ inputs: [{ source: master, options: ['-t', String(durationS)] }], outputOptions: ['-vf', 'scale=160:90', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', String(crf)], output: out }, paths);
      encodes.push(out);
    }
    const spec = { reference: master, referenceDurationS: 4, width: 320, height: 180, frameRate: 24, ssim: false, vmafModelPath: VMAF_MODEL };
    const alone = async (files: string[], frameSample: number) => Promise.all(files.map(async (f) => (await measureFrameScoresBatch({ ...spec, frameSample }, [f], paths))[0]!));
    // 96 frames, every 10th: triples 4–6, …, 94–96 — the last cut short (frame 96 does not exist).
    const full = [encodes[0]!, encodes[2]!, encodes[3]!];
    const [batch, single] = [await measureFrameScoresBatch({ ...spec, frameSample: 10 }, full, paths), await alone(full, 10)];
    for (const j of [0, 1, 2]) {
      if (v2) {
        // In 2.x one encode alone is scored as a batch of one: the cut-short triple left out too.
        expect(single[j]!.vmaf).toHaveLength(9);
        expect(batch[j]!.vmaf).toEqual(single[j]!.vmaf!.map((v) => expect.closeTo(v, 4)));
        expect(batch[j]!.mseY).toEqual(single[j]!.mseY);
        continue;
      }
      expect(single[j]!.vmaf).toHaveLength(10);
      // The cut-short triple is left out of a batch: one score (its middle) and its two frames fewer.
      expect(batch[j]!.vmaf).toEqual(single[j]!.vmaf!.slice(0, -1).map((v) => expect.closeTo(v, 4)));
      expect(batch[j]!.mseY).toEqual(single[j]!.mseY!.slice(0, -2));
    }
    expect(batch[0]!.vmaf![3]).toBeGreaterThan(batch[2]!.vmaf![3]!);
    // Every 12th: whole triples only, so the batch scores exactly the frames each alone does.
    expect(await measureFrameScoresBatch({ ...spec, frameSample: 12 }, full, paths)).toEqual(await alone(full, 12));
    // Every 7th: the last triple ends on the last frame (93–95), which FFmpeg 6.1's fps drops unless
    // padded (quality-graph.ts EOF_PAD); the batch still runs as one preparation and one scoring process.
    let processes = 0;
    const seventh = await measureFrameScoresBatch({ ...spec, frameSample: 7 }, full, paths, { onStart: () => processes++ });
    expect(processes).toBe(2);
    for (const s of seventh) expect(s.vmaf).toHaveLength(14);
    // An encode that stops at 2 s has fewer kept frames than the reference: the frames of a
    // concatenated batch would no longer pair, so each encode is measured alone.
    expect(await measureFrameScoresBatch({ ...spec, frameSample: 12 }, encodes, paths)).toEqual(await alone(encodes, 12));
  });
});

describe('a master read whole as the reference', () => {
  it('is read upright: a rotated master stays with the bundled ffmpeg (movie sources do not turn frames), and its own upright encode scores high', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'rotated.mp4'), durationS: 2, width: 320, height: 180, audio: false, rotationDeg: 90 }, paths);
    const upright = path.join(dir, 'rotated-encode.mp4');
    // ffmpeg turns the frames by the container's rotation when it decodes: 180x320.
    await runFfmpeg({ inputs: [{ source: master }], outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18'], output: upright }, paths);
    const [scores] = await measureFrameScoresBatch({ reference: master, width: 180, height: 320, frameRate: 24, ssim: false, vmafModelPath: VMAF_MODEL }, [upright], paths);
    expect(scores!.vmaf!.length).toBe(48);
    expect(Math.min(...scores!.vmaf!)).toBeGreaterThan(85);
  });
});


describe('the scoring process in libvmaf 2.x', () => {
  it("runs with libvmaf's malloc settings, as 1.x scoring processes do", async () => {
    delete process.env.VOD_LIBVMAF;
    const master = await makeSyntheticMaster({ path: path.join(dir, 'malloc.mp4'), durationS: 2, width: 320, height: 180, audio: false }, paths);
    const encode = path.join(dir, 'malloc-encode.mp4');
    await runFfmpeg({ inputs: [{ source: master }], outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30'], output: encode }, paths);
    // The bundled ffprobe behind a script that notes the MALLOC_ variables of the run that scores (-f lavfi).
    const [wrapper, seen] = [path.join(dir, 'ffprobe-noting-env.sh'), path.join(dir, 'lavfi-env.txt')];
    await fs.writeFile(wrapper, `#!/bin/sh\ncase "$*" in *"-f lavfi"*) env | grep '^MALLOC_' | sort > '${seen}';; esac\nexec '${paths.ffprobePath}' "$@"\n`, { mode: 0o755 });
    const [scores] = await measureFrameScoresBatch({ reference: master, referenceDurationS: 2, width: 320, height: 180, frameRate: 24, ssim: false, vmafModelPath: VMAF_MODEL, frameSample: 8 }, [encode], { ...paths, ffprobePath: wrapper });
    expect(scores!.vmaf!.length).toBeGreaterThan(0);
    expect((await fs.readFile(seen, 'utf8')).trim().split('\n')).toEqual(Object.entries(LIBVMAF_MALLOC_ENV).map(([k, v]) => `${k}=${v}`).sort());
  });

  it('falls back to libvmaf 1.x in the bundled ffmpeg where ffprobe cannot run the comparison: the scores are 1.x\'s, nothing fails', async () => {
    delete process.env.VOD_LIBVMAF;
    const master = await makeSyntheticMaster({ path: path.join(dir, 'fallback.mp4'), durationS: 2, width: 320, height: 180, audio: false }, paths);
    const encodes = [];
    for (const crf of [28, 36]) {
      const out = path.join(dir, `fallback_crf${crf}.mp4`);
      await runFfmpeg({ inputs: [{ source: master }], outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', String(crf)], output: out }, paths);
      encodes.push(out);
    }
    // The bundled ffprobe behind a script that fails every graph run (-f lavfi) as a broken one
    // would, after noting it; every other call (probing) goes through.
    const [wrapper, tried] = [path.join(dir, 'ffprobe-failing-lavfi.sh'), path.join(dir, 'lavfi-tried.txt')];
    await fs.writeFile(wrapper, `#!/bin/sh\ncase "$*" in *"-f lavfi"*) echo tried >> '${tried}'; echo 'movie: could not open in0.mp4' >&2; exit 1;; esac\nexec '${paths.ffprobePath}' "$@"\n`, { mode: 0o755 });
    const spec = { reference: master, referenceDurationS: 2, width: 320, height: 180, frameRate: 24, ssim: false, vmafModelPath: VMAF_MODEL };
    const failing = { ...paths, ffprobePath: wrapper };
    // A concatenated batch on a frame sample, and one encode against the whole master on every frame.
    const batch = await measureFrameScoresBatch({ ...spec, frameSample: 8 }, encodes, failing);
    const single = await measureFrameScoresBatch(spec, [encodes[0]!], failing);
    expect((await fs.readFile(tried, 'utf8')).trim().split('\n')).toHaveLength(2);
    process.env.VOD_LIBVMAF = '1';
    try {
      expect(batch).toEqual(await measureFrameScoresBatch({ ...spec, frameSample: 8 }, encodes, paths));
      expect(single).toEqual(await measureFrameScoresBatch(spec, [encodes[0]!], paths));
    } finally {
      delete process.env.VOD_LIBVMAF;
    }
    expect(batch[1]!.vmaf!.length).toBeGreaterThan(0);
    expect(single[0]!.vmaf).toHaveLength(48);
  });
});

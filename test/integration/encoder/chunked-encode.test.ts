/**
 * Chunked encoding joins seamlessly: a rendition encoded in chunks cut at segment boundaries
 * and stitched (hls-packager.ts stitchChunkedRendition) has the timing of a one-pass encode of
 * the same master — same segments and EXTINF durations, every frame once (count and timestamps
 * against the one-pass encode and the master), a keyframe at every segment start, and each
 * segment's baseMediaDecodeTime and segment index time where the one-pass encode put them, and
 * the right picture at every frame when ffmpeg reads it back.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planChunks } from '../../../src/encoder/chunk-plan.js';
import { withSeekStarts } from '../../../src/encoder/master-seek.js';
import { probe, probeKeyframeTimesS, probePackets, resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { firstDecodeTime, firstSidxPresentationTimeS } from '../../../src/encoder/fmp4-rebase.js';
import { measureFrameScores, psnrFromMse } from '../../../src/encoder/quality-metrics.js';
import { joinFmp4Rendition, measureMediaPlaylist, stitchChunkedRendition } from '../../../src/encoder/hls-packager.js';
import { encodeVideoChunk, encodeVideoRendition, encodeVideoRenditions, MEDIA_PLAYLIST_NAME, type VideoRenditionSpec } from '../../../src/encoder/rendition.js';
import { encodeLadderChunk, encodeRenditions } from '../../../src/encoder/encode-stage.js';
import { inspectMaster } from '../../../src/encoder/master-check.js';
import { measureLadderChunkQuality, measureRenditions, referenceTapFor, type EncodePlan } from '../../../src/encoder/title-stages.js';
import { silentLogger } from '../../../src/util/logger.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { SHARED_VMAF_MODEL as VMAF_MODEL } from '../../helpers/vmaf-model.js';

let paths: FfmpegPaths;
let dir: string;
let master: string;
/**
 * The same content as an MPEG-TS with a keyframe every 3 s (so chunks at 4 s and 8 s start between
 * keyframes), its audio starting 21 ms before its video (as ffmpeg's TS muxer writes it).
 */
let tsMaster: string;
const DURATION_S = 14;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
  master = await makeSyntheticMaster({ path: path.join(dir, 'master.mp4'), durationS: DURATION_S, width: 640, height: 360, frameRate: 24 }, paths);
  tsMaster = await makeSyntheticMaster({ path: path.join(dir, 'master.ts'), durationS: DURATION_S, width: 640, height: 360, frameRate: 24, keyframeIntervalS: 3 }, paths);
});

const dirOf = () => dir;

describe('chunked encoding', () => {
  it.each([
    ['an MP4 master', () => master, 'mp4'],
    ['an MPEG-TS master whose video starts after its audio (chunks seek on the video timeline) and whose seeks are not exact (chunks start between keyframes)', () => tsMaster, 'ts'],
  ])('stitches chunks of %s into a rendition timed exactly like a one-pass encode', async (_label, masterOf, tag) => {
    const master = masterOf();
    const dir = path.join(dirOf(), tag);
    const { videoStartOffsetS, formatName } = await probe(master, paths);
    if (tag === 'ts') expect(videoStartOffsetS).toBeGreaterThan(0);
    const spec = (outDir: string): VideoRenditionSpec => ({ masterPath: master, outDir, rung: { width: 416, height: 234, bitrateBps: 300_000 }, frameRate: 24, segmentDurationS: 4, x264Preset: 'ultrafast', videoStartOffsetS });
    await encodeVideoRendition(spec(path.join(dir, 'one')), paths);
    const keyframesS = await probeKeyframeTimesS(master, paths);
    const chunks = withSeekStarts(planChunks(DURATION_S, 4, 4), formatName, keyframesS); // 4 chunks, the last 2 s
    expect(chunks).toHaveLength(4);
    // The TS chunks at 4 s and 8 s start between keyframes (a seek there alone would lose pictures).
    if (tag === 'ts') expect(chunks.map((c) => c.seekFromS)).toEqual([undefined, 2, 5, 11]);
    else expect(chunks.every((c) => c.seekFromS === undefined)).toBe(true);
    for (const c of chunks) await encodeVideoChunk(spec(path.join(dir, 'chunks', String(c.index))), c, paths);
    await stitchChunkedRendition(
      chunks.map((c) => ({ dir: path.join(dir, 'chunks', String(c.index)), startS: c.startS })),
      path.join(dir, 'stitched'),
      MEDIA_PLAYLIST_NAME,
      (n) => `seg_${String(n).padStart(5, '0')}.m4s`,
    );

    const one = await measureMediaPlaylist(path.join(dir, 'one', MEDIA_PLAYLIST_NAME));
    const stitched = await measureMediaPlaylist(path.join(dir, 'stitched', MEDIA_PLAYLIST_NAME));
    expect(stitched.targetDurationS).toBe(one.targetDurationS);
    expect(stitched.segments.map((s) => s.durationS)).toEqual(one.segments.map((s) => s.durationS));
    expect(stitched.segments.map((s) => s.durationS).every((d) => d <= stitched.targetDurationS)).toBe(true);

    // Every segment's decode time where the one-pass encode has it (continuous across borders).
    for (const [i, seg] of stitched.segments.entries()) {
      const a = firstDecodeTime(await fs.readFile(path.join(dir, 'stitched', seg.uri)));
      const b = firstDecodeTime(await fs.readFile(path.join(dir, 'one', one.segments[i]!.uri)));
      expect(a, seg.uri).toBe(b);
      // …and so does its segment index, which ffmpeg's mp4 demuxer times fragments by.
      const sa = firstSidxPresentationTimeS(await fs.readFile(path.join(dir, 'stitched', seg.uri)));
      const sb = firstSidxPresentationTimeS(await fs.readFile(path.join(dir, 'one', one.segments[i]!.uri)));
      expect(sa, `${seg.uri} sidx`).toBeCloseTo(sb!, 6);
    }

    // Every frame once, at the one-pass timestamps; a keyframe at each segment start.
    await joinFmp4Rendition(path.join(dir, 'stitched', MEDIA_PLAYLIST_NAME), stitched, path.join(dir, 'stitched.mp4'));
    await joinFmp4Rendition(path.join(dir, 'one', MEDIA_PLAYLIST_NAME), one, path.join(dir, 'one.mp4'));
    const s = await probePackets(path.join(dir, 'stitched.mp4'), paths);
    const o = await probePackets(path.join(dir, 'one.mp4'), paths);
    const m = await probePackets(master, paths);
    expect(s).toHaveLength(m.length); // 14 s at 24 fps: 336 frames, none lost or doubled
    expect(s).toHaveLength(o.length);
    const sorted = (p: { ptsS: number }[]) => p.map((x) => x.ptsS).sort((x, y) => x - y);
    const [sp, op] = [sorted(s), sorted(o)];
    for (let i = 0; i < sp.length; i++) expect(Math.abs(sp[i]! - op[i]!), `frame ${i}`).toBeLessThan(0.001);
    // The right picture at every frame, read back by ffmpeg (the quality measurement's reader):
    // a chunk shifted in time would compare each frame with another one of the master.
    const frameScores = async (file: string) =>
      (await measureFrameScores({ distorted: file, reference: master, width: 640, height: 360, frameRate: 24 }, paths)).mseY!.map(psnrFromMse);
    const [sq, oq] = [await frameScores(path.join(dir, 'stitched.mp4')), await frameScores(path.join(dir, 'one.mp4'))];
    expect(sq).toHaveLength(m.length);
    expect(Math.min(...sq)).toBeGreaterThan(Math.min(...oq) - 3);
    const keyframes = s.filter((p) => p.keyframe).map((p) => p.ptsS);
    let start = keyframes[0]!;
    for (const seg of stitched.segments) {
      expect(keyframes.some((k) => Math.abs(k - start) < 0.001), `keyframe at ${start.toFixed(3)} s`).toBe(true);
      start += seg.durationS;
    }
  });

  it('encodes a ladder in one process (one decode of the master) as one process per rendition would, whole or per chunk', async () => {
    const rungs = [
      { width: 640, height: 360, bitrateBps: 800_000 },
      { width: 416, height: 234, bitrateBps: 300_000 },
    ];
    const spec = (outDir: string, i: number): VideoRenditionSpec => ({ masterPath: master, outDir, rung: rungs[i]!, frameRate: 24, segmentDurationS: 4, x264Preset: 'ultrafast' });
    const chunk = planChunks(DURATION_S, 4, 8)[1]!; // the second 8 s chunk: 8-14 s
    const joined = async (d: string) => {
      const media = await measureMediaPlaylist(path.join(d, MEDIA_PLAYLIST_NAME));
      await joinFmp4Rendition(path.join(d, MEDIA_PLAYLIST_NAME), media, `${d}.mp4`);
      return { media, file: `${d}.mp4` };
    };
    for (const [label, window] of [['whole', undefined], ['chunk', chunk]] as const) {
      await encodeVideoRenditions(rungs.map((_r, i) => spec(path.join(dir, `ladder-${label}`, String(i)), i)), paths, window ? { chunk: window } : {});
      for (const i of rungs.keys()) {
        const alone = path.join(dir, `alone-${label}`, String(i));
        if (window) await encodeVideoChunk(spec(alone, i), window, paths);
        else await encodeVideoRendition(spec(alone, i), paths);
        const a = await joined(path.join(dir, `ladder-${label}`, String(i)));
        const b = await joined(alone);
        expect(a.media.segments.map((s) => s.durationS), `${label} ${i}`).toEqual(b.media.segments.map((s) => s.durationS));
        // The same frames at the same times with keyframes in the same places. (x264's one-pass
        // ABR with VBV is not deterministic from run to run even alone, so bytes may differ;
        // with plain CRF the outputs are byte-identical.)
        const [pa, pb] = [await probePackets(a.file, paths), await probePackets(b.file, paths)];
        expect(pa.map((p) => [p.ptsS, p.keyframe]), `${label} ${i}`).toEqual(pb.map((p) => [p.ptsS, p.keyframe]));
        expect(Math.abs(a.media.averageBitrateBps / b.media.averageBitrateBps - 1), `${label} ${i} bitrate`).toBeLessThan(0.05);
      }
    }
  });

  it('measures a chunk of an MPEG-TS master that starts between keyframes against its own frames, tapped or decoded', async () => {
    const probe = await inspectMaster(tsMaster, paths);
    const chunks = withSeekStarts(planChunks(DURATION_S, 4, 8), probe.formatName, await probeKeyframeTimesS(tsMaster, paths)); // 0-8 s, 8-14 s
    const chunk = chunks[1]!;
    expect(chunk.seekFromS).toBe(5); // keyframes every 3 s: the one at 6 s, less the margin
    const plan: EncodePlan = {
      titleId: '00000000000000a2', masterPath: tsMaster, probe, ladderKind: 'fixed', frameRate: 24, segmentDurationS: 4,
      rungs: [{ name: 'video_360p', rung: { width: 640, height: 360, bitrateBps: 1_500_000 } }],
      audio: [], subtitles: [], analysis: undefined, chunks,
    };
    const settings = { vmafModelPath: VMAF_MODEL, frameSample: 12 };
    const work = path.join(dir, 'tap-ts');
    await fs.mkdir(work);
    const tap = await referenceTapFor(plan, settings, chunk, path.join(work, 'reference.nut'));
    const dirs = new Map([['video_360p', path.join(work, 'video_360p')]]);
    await encodeLadderChunk(plan, chunk, (n) => dirs.get(n)!, 'ultrafast', paths, { log: silentLogger, referenceTap: tap });
    const tapped = await measureLadderChunkQuality(plan, chunk, dirs, settings, paths, { referenceFrames: tap!.output });
    const decoded = await measureLadderChunkQuality(plan, chunk, dirs, settings, paths, {});
    expect(tapped).toEqual(decoded);
    // A 1.5 Mbit/s 360p encode of its own frames: PSNR well above 30 dB on every sampled frame (a
    // reference that starts at the next keyframe, 9 s, compares frames a second apart: ~20 dB).
    expect(Math.min(...decoded.get('video_360p')!.mseY!.map(psnrFromMse))).toBeGreaterThan(30);
  });

  it("lets the ladder encode's decode write the measurement's reference frames: the same scores, the master decoded once", async () => {
    const probe = await inspectMaster(master, paths);
    const chunks = planChunks(DURATION_S, 4, 8); // 0-8 s, 8-14 s
    const plan: EncodePlan = {
      titleId: '00000000000000a1',
      masterPath: master,
      probe,
      ladderKind: 'fixed',
      frameRate: 24,
      segmentDurationS: 4,
      rungs: [
        { name: 'video_360p', rung: { width: 640, height: 360, bitrateBps: 800_000 } },
        { name: 'video_234p', rung: { width: 416, height: 234, bitrateBps: 300_000 } },
      ],
      audio: [],
      subtitles: [],
      analysis: undefined,
      chunks,
    };
    const settings = { vmafModelPath: VMAF_MODEL, frameSample: 12 };
    // One chunk, as a distributed encode's child does it.
    const chunk = chunks[1]!;
    const work = path.join(dir, 'tap');
    await fs.mkdir(work);
    const tap = await referenceTapFor(plan, settings, chunk, path.join(work, 'reference.nut'));
    expect(tap).toBeDefined();
    const dirs = new Map(plan.rungs.map(({ name }) => [name, path.join(work, name)]));
    await encodeLadderChunk(plan, chunk, (n) => dirs.get(n)!, 'ultrafast', paths, { log: silentLogger, referenceTap: tap });
    const tapped = await measureLadderChunkQuality(plan, chunk, dirs, settings, paths, { referenceFrames: tap!.output });
    const decoded = await measureLadderChunkQuality(plan, chunk, dirs, settings, paths, {});
    expect(tapped.get('video_234p')!.mseY!.length).toBe(36); // 6 s at 24 fps: every 12th of 144 frames, each with its neighbours
    expect(tapped).toEqual(decoded);
    // …and the frames are read from the tap: another chunk's give other scores.
    const other = await referenceTapFor(plan, settings, chunks[0]!, path.join(work, 'reference0.nut'));
    await encodeLadderChunk(plan, chunks[0]!, (n) => path.join(work, '0', n), 'ultrafast', paths, { log: silentLogger, referenceTap: other });
    const wrong = await measureLadderChunkQuality(plan, chunk, dirs, settings, paths, { referenceFrames: other!.output });
    expect(wrong.get('video_234p')!.mseY).not.toEqual(decoded.get('video_234p')!.mseY);
    // Without VMAF there is nothing to share: PSNR and SSIM compare every frame in one process.
    expect(await referenceTapFor(plan, { vmafModelPath: undefined, frameSample: 12 }, chunk, path.join(work, 'none.nut'))).toBeUndefined();

    // A one-pass title: the encode stage writes the frames, the measure stage reads then removes them.
    const one: EncodePlan = { ...plan, chunks: planChunks(DURATION_S, 4, 0) };
    const outDir = path.join(dir, 'tap-title');
    const encoded = await encodeRenditions(one, outDir, 'ultrafast', paths, { log: silentLogger, measure: settings });
    expect(encoded.referenceFrames).toBeDefined();
    const measure = { measureQuality: true, ...settings };
    const withTap = await measureRenditions(encoded, measure, paths, { log: silentLogger });
    await expect(fs.stat(encoded.referenceFrames!)).rejects.toThrow();
    const without = await measureRenditions({ ...encoded, referenceFrames: undefined }, measure, paths, { log: silentLogger });
    expect(withTap.video.map((v) => v.quality)).toEqual(without.video.map((v) => v.quality));
    expect(withTap.video[0]!.quality!.vmaf).toBeGreaterThan(0);
  });
});

/**
 * Masters as broadcast and phones deliver them, encoded end to end (real ffmpeg, fixed ladder,
 * rungs measured on PSNR): an interlaced MPEG-TS master is deinterlaced to its field rate
 * before every stage that reads its pictures, and a phone's portrait recording (coded landscape, turned by its
 * container's display matrix) is published upright at its shown size; a TS recorded mid-GOP
 * passes the master check and keeps lip sync, as does a master whose audio starts after its
 * video; telecined film is inverse-telecined; an HDR master is tone-mapped to SDR; the per-title sample of a TS with long GOPs (and of an MP4) holds the master's own
 * frames, each once (chunks of one: chunked-encode.test.ts). The probes of these kinds are in ffmpeg.test.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTitle } from '../../../src/encoder/encode-title.js';
import { inspectMaster } from '../../../src/encoder/master-check.js';
import { keyframesForSeeking } from '../../../src/encoder/master-seek.js';
import { ffmpegChildEnv, probe, probePackets, resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { planAnalysis } from '../../../src/encoder/per-title.js';
import { decodeSample } from '../../../src/encoder/per-title-sample.js';
import { titleRecordSchema, type TitleRecord } from '../../../src/origin/catalog.js';
import { makeHdrMaster, makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
let dir: string;
let paths: FfmpegPaths;

beforeAll(async () => {
  dir = await makeTempDir();
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function encodeFixed(master: string, name: string, measureRungs = true): Promise<{ outDir: string; record: TitleRecord }> {
  const outDir = path.join(dir, name);
  await fs.mkdir(outDir);
  const record = titleRecordSchema.parse(
    await encodeTitle({ titleId: '00000000000000e1', title: name, masterPath: master, masterFileName: path.basename(master), outDir, segmentDurationS: 2, x264Preset: 'ultrafast', ladderKind: 'fixed', measureRungs }, paths),
  );
  return { outDir, record };
}

/** A black picture with a white flash at 5 s (lavfi source), for the lip-sync tests. */
const FLASH_AT_5S = "color=c=black:size=320x180:rate=25,drawbox=x=0:y=0:w=320:h=180:color=white:t=fill:enable='between(t,5,5.039)'";

/** How far apart the flash and the beep are in a title published from `master` (its first video rendition and its audio), s. */
async function publishedFlashBeepGapS(master: string, name: string): Promise<number> {
  const { outDir, record } = await encodeFixed(master, name, false);
  const video = await renditionFile(outDir, record.renditions.find((r) => r.kind === 'video')!.uri);
  const audio = await renditionFile(outDir, record.renditions.find((r) => r.kind === 'audio')!.uri);
  return Math.abs((await flashS(video)) - (await beepS(audio)));
}

/** A rendition's init segment and media segments, concatenated: a playable fMP4 file. */
async function renditionFile(outDir: string, uri: string): Promise<string> {
  const folder = path.join(outDir, path.dirname(uri));
  const segments = (await fs.readdir(folder)).filter((f) => f.endsWith('.m4s')).sort();
  const file = path.join(dir, `${path.basename(folder)}-${path.basename(outDir)}.mp4`);
  await fs.writeFile(file, Buffer.concat([await fs.readFile(path.join(folder, 'init.mp4')), ...(await Promise.all(segments.map((s) => fs.readFile(path.join(folder, s)))))]));
  return file;
}

/** The time of the first video frame brighter than mid-grey (the flash), s on the file's own clock (-copyts: what a player lines renditions up by). */
async function flashS(file: string): Promise<number> {
  const { stderr } = await run(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-copyts', '-i', file, '-map', '0:v:0', '-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YAVG', '-f', 'null', '-'], { env: ffmpegChildEnv(), maxBuffer: 64 * 1024 * 1024 });
  const m = /pts_time:([0-9.]+)\s*\n[^\n]*YAVG=(2\d\d|1[3-9]\d)/.exec(stderr);
  if (!m) throw new Error('no flash found');
  return Number(m[1]);
}
/** When the audio's first tone after silence starts (the beep), s on the file's own clock. */
async function beepS(file: string): Promise<number> {
  const { stderr } = await run(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-copyts', '-i', file, '-map', '0:a:0', '-af', 'silencedetect=n=-30dB:d=0.02', '-f', 'null', '-'], { env: ffmpegChildEnv(), maxBuffer: 16 * 1024 * 1024 });
  const m = /silence_end: ([0-9.]+)/.exec(stderr);
  if (!m) throw new Error('no beep found');
  return Number(m[1]);
}

/** ffmpeg's idet filter over a file: frames it calls interlaced (either field order) and progressive. */
async function fieldDetection(file: string): Promise<{ interlaced: number; progressive: number }> {
  const { stderr } = await run(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-i', file, '-map', '0:v:0', '-vf', 'idet', '-f', 'null', '-'], { env: ffmpegChildEnv(), maxBuffer: 16 * 1024 * 1024 });
  const m = /Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)/.exec(stderr);
  if (!m) throw new Error(`idet said nothing: ${stderr.slice(-400)}`);
  return { interlaced: Number(m[1]) + Number(m[2]), progressive: Number(m[3]) };
}

describe('an interlaced broadcast master (MPEG-TS, 25i, top field first)', () => {
  it('is published progressive at its field rate (50p, a frame per field): the top rung has no combing left, where the master is all interlaced', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'broadcast.ts'), durationS: 4, width: 960, height: 540, frameRate: 25, interlaced: true }, paths);
    expect((await probe(master, paths)).video).toMatchObject({ interlaced: true, frameRate: 25 });
    const before = await fieldDetection(master);
    expect(before.interlaced).toBeGreaterThan(before.progressive * 4);
    const { outDir, record } = await encodeFixed(master, 'broadcast');
    const video = record.renditions.filter((r) => r.kind === 'video');
    const top = video.at(-1)!;
    expect(top).toMatchObject({ width: 960, height: 540, frameRate: 50 });
    // Apple's rows up to 768x432 are "≤ 30 fps": those rungs are 25p (every other field's frame).
    expect(video.slice(0, -1).map((r) => [r.height, r.frameRate])).toEqual([[234, 25], [360, 25], [432, 25], [432, 25]]);
    const topFile = await renditionFile(outDir, top.uri);
    const after = await fieldDetection(topFile);
    expect(after.progressive).toBeGreaterThan(after.interlaced * 4);
    // 4 s of 25i = 100 frames of 200 fields; published as 200 frames (one more at most: the TS's
    // audio starts 21 ms before its video, so the title lasts 4.02 s).
    const [published, fields] = [(await probePackets(topFile, paths)).length, 2 * (await probePackets(master, paths)).length];
    expect(published).toBeGreaterThanOrEqual(fields);
    expect(published).toBeLessThanOrEqual(fields + 1);
    // Measured against the master deinterlaced the same way: the pipeline's PSNR (luma, from the
    // mean MSE) is what ffmpeg's own comparison of the published rung with the master turned into
    // 50p by a frame per field gives (against the undeinterlaced master it is 1.5-2 dB lower, one
    // field off 4-6 dB lower).
    const stats = path.join(dir, 'broadcast-psnr.log');
    await run(
      paths.ffmpegPath,
      ['-hide_banner', '-nostdin', '-i', topFile, '-i', master, '-filter_complex', `[0:v]setpts=PTS-STARTPTS[a];[1:v]bwdif=mode=send_field:parity=auto:deint=interlaced,setpts=PTS-STARTPTS,fps=50[b];[a][b]psnr=stats_file=${stats}`, '-f', 'null', '-'],
      { env: ffmpegChildEnv(), maxBuffer: 16 * 1024 * 1024 },
    );
    const mseY = [...(await fs.readFile(stats, 'utf8')).matchAll(/mse_y:([0-9.]+)/g)].map((m) => Number(m[1]));
    const independent = 10 * Math.log10(255 ** 2 / (mseY.reduce((a, b) => a + b, 0) / mseY.length));
    expect(top.kind === 'video' && top.quality?.psnrDb).toBeCloseTo(independent, 0);
  }, 120_000);
});

describe('an MPEG-TS recorded from a broadcast, starting mid-GOP', () => {
  it("passes the master check: the decoder's messages about the pictures and parameter sets before the cut are not damage", async () => {
    const whole = await fs.readFile(await makeSyntheticMaster({ path: path.join(dir, 'whole.ts'), durationS: 6, width: 640, height: 360, keyframeIntervalS: 1 }, paths));
    const cut = path.join(dir, 'recorded.ts');
    // From a TS packet boundary a third of the way in: inside a GOP, before its parameter sets.
    await fs.writeFile(cut, whole.subarray(Math.floor(whole.length / 3 / 188) * 188));
    const { stderr } = await run(paths.ffmpegPath, ['-v', 'error', '-nostdin', '-i', cut, '-map', '0:v:0', '-frames:v', '2', '-f', 'null', '-'], { env: ffmpegChildEnv() });
    expect(stderr).toMatch(/non-existing PPS|co located POCs|mmco|no frame/); // what the check used to refuse
    const probed = await inspectMaster(cut, paths);
    expect(probed.video).toMatchObject({ codecName: 'h264', displayWidth: 640, displayHeight: 360 });
  }, 60_000);
});

describe('lip sync of a TS recorded mid-GOP (its audio starts 0.6 s before its first decodable picture)', () => {
  it('publishes audio and video that line up: the beep sounds with the flash', async () => {
    // A white flash and a 1 kHz beep at 5 s of content, in a TS with a keyframe every second.
    const whole = path.join(dir, 'sync.ts');
    await run(
      paths.ffmpegPath,
      ['-v', 'error', '-y', '-f', 'lavfi', '-i', FLASH_AT_5S, '-f', 'lavfi', '-i', "sine=f=1000:sample_rate=48000,volume=enable='not(between(t,5,5.1))':volume=0", '-t', '8', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', whole],
      { env: ffmpegChildEnv() },
    );
    const bytes = await fs.readFile(whole);
    const cut = path.join(dir, 'sync-recorded.ts');
    await fs.writeFile(cut, bytes.subarray(Math.floor(bytes.length / 4 / 188) * 188));
    expect(Math.abs((await flashS(cut)) - (await beepS(cut)))).toBeLessThan(0.1); // in sync in the master
    // Read from the file's start, the audio led by the 0.6 s before the first decodable picture.
    expect(await publishedFlashBeepGapS(cut, 'sync-title')).toBeLessThan(0.1);
  }, 120_000);
});

describe('lip sync of a master whose audio starts after its video (0.7 s, an edit list in the MP4)', () => {
  it('publishes audio and video that line up: the beep sounds with the flash', async () => {
    // A white flash at 5 s and a 1 kHz beep at 5 s of the file's clock, the audio track starting at 0.7 s.
    const master = path.join(dir, 'late-audio.mp4');
    await run(
      paths.ffmpegPath,
      ['-v', 'error', '-y', '-f', 'lavfi', '-i', FLASH_AT_5S, '-itsoffset', '0.7', '-f', 'lavfi', '-i', "sine=f=1000:sample_rate=48000,volume=enable='not(between(t,4.3,4.4))':volume=0", '-t', '8', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', master],
      { env: ffmpegChildEnv() },
    );
    const probed = await probe(master, paths);
    expect(probed.audioStreams).toHaveLength(1);
    expect(Math.abs((await flashS(master)) - (await beepS(master)))).toBeLessThan(0.1); // in sync in the master
    expect(await publishedFlashBeepGapS(master, 'late-audio-title')).toBeLessThan(0.1);
  }, 120_000);
});

describe('lip sync of a master whose video starts after its audio (1.5 s, an edit list in the MP4)', () => {
  it('publishes audio and video that line up: the beep sounds with the flash', async () => {
    // A white flash at 5 s of the video's own clock, the video track starting at 1.5 s of the file's; the beep at 6.5 s of the file's.
    const master = path.join(dir, 'late-video.mp4');
    await run(
      paths.ffmpegPath,
      ['-v', 'error', '-y', '-itsoffset', '1.5', '-f', 'lavfi', '-i', FLASH_AT_5S, '-f', 'lavfi', '-i', "sine=f=1000:sample_rate=48000,volume=enable='not(between(t,6.5,6.6))':volume=0", '-t', '9', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', master],
      { env: ffmpegChildEnv() },
    );
    expect(Math.abs((await flashS(master)) - (await beepS(master)))).toBeLessThan(0.1); // in sync in the master
    expect(await publishedFlashBeepGapS(master, 'late-video-title')).toBeLessThan(0.1);
  }, 120_000);
});

describe('film telecined to 29.97i (3:2 pulldown)', () => {
  it("is inverse-telecined back to the film's 23.976 frames, not deinterlaced to 59.94", async () => {
    // 23.976p film (testsrc2), telecined 3:2 to 29.97i top field first, coded interlaced.
    const film = path.join(dir, 'film.mp4');
    await run(paths.ffmpegPath, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=720x480:rate=24000/1001', '-t', '6', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-crf', '8', film], { env: ffmpegChildEnv() });
    const master = path.join(dir, 'telecined.mp4');
    await run(paths.ffmpegPath, ['-v', 'error', '-y', '-i', film, '-vf', 'telecine=first_field=top:pattern=23,setfield=tff', '-c:v', 'libx264', '-flags', '+ilme+ildct', '-x264-params', 'tff=1', '-preset', 'veryfast', '-crf', '12', master], { env: ffmpegChildEnv() });
    const probed = await inspectMaster(master, paths);
    expect(probed.video).toMatchObject({ interlaced: true, telecined: true });
    const { outDir, record } = await encodeFixed(master, 'telecined');
    const top = record.renditions.filter((r) => r.kind === 'video').sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0]!;
    const file = await renditionFile(outDir, top.uri);
    const packets = await probePackets(file, paths);
    // 6 s of film: 144 frames at 23.976 (deinterlaced it was 360 at 59.94).
    expect(Math.abs(packets.length - 144)).toBeLessThanOrEqual(2);
    expect((await probe(file, paths)).video!.frameRate).toBeCloseTo(24000 / 1001, 2);
    const fields = await fieldDetection(file);
    expect(fields.progressive).toBeGreaterThan(0.9 * (fields.progressive + fields.interlaced));
    // The film's own frames: measured against the telecined master read the same way, and each
    // published frame close to the film frame at its time.
    expect(top.quality!.psnrDb).toBeGreaterThan(30);
    const { stderr } = await run(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-i', file, '-i', film, '-lavfi', '[0:v]setpts=PTS-STARTPTS,scale=720:480[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]psnr', '-f', 'null', '-'], { env: ffmpegChildEnv(), maxBuffer: 16 * 1024 * 1024 });
    expect(Number(/PSNR y:([0-9.]+)/.exec(stderr)?.[1])).toBeGreaterThan(28);
  }, 120_000);
});

describe('a variable-frame-rate recording (a screen recording: 30 fps while things move, one frame a second while still)', () => {
  it('is published at its 30 fps cadence, stills repeated, not at its 20 fps average, which drops a third of the moving frames', async () => {
    // 0-2 s and 4-6 s at 30 fps, one frame a second in between and after.
    const master = await makeSyntheticMaster({ path: path.join(dir, 'vfr.mp4'), durationS: 8, width: 320, height: 180, frameRate: 30, variableFrameRate: true, videoFilter: "select='lt(mod(t\\,4)\\,2)+not(mod(n\\,30))'", audio: false }, paths);
    const probed = await inspectMaster(master, paths);
    expect(probed.video!.frameRate).toBeLessThan(25);
    expect(probed.video!.cadenceFrameRate).toBe(30);
    const { outDir, record } = await encodeFixed(master, 'vfr');
    expect(await fs.readFile(path.join(outDir, record.playlist), 'utf8')).toMatch(/FRAME-RATE=30\.000/);
    const top = record.renditions.filter((r) => r.kind === 'video').sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0]!;
    const packets = await probePackets(await renditionFile(outDir, top.uri), paths);
    expect(Math.abs(packets.length - probed.durationS * 30)).toBeLessThanOrEqual(2);
    // Every frame of the first moving stretch: 60 in 2 s (41 at the average rate).
    expect(packets.filter((p) => p.ptsS - packets[0]!.ptsS < 2 - 1e-3).length).toBe(60);
  }, 120_000);
});

describe('an HDR master (PQ and HLG, BT.2020, 10-bit HEVC)', () => {
  /** Mean luma, mean saturation and the 10th–90th percentile luma range of a file's first frame (ffmpeg's signalstats). */
  async function pictureStats(file: string): Promise<{ yavg: number; satavg: number; range: number }> {
    const { stderr } = await run(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-i', file, '-map', '0:v:0', '-vf', 'signalstats,metadata=print', '-frames:v', '1', '-f', 'null', '-'], { env: ffmpegChildEnv(), maxBuffer: 16 * 1024 * 1024 });
    const get = (k: string) => Number(new RegExp(`${k}=([0-9.]+)`).exec(stderr)?.[1]);
    return { yavg: get('YAVG'), satavg: get('SATAVG'), range: get('YHIGH') - get('YLOW') };
  }

  it.each([
    ['smpte2084', 'pq'],
    ['arib-std-b67', 'hlg'],
  ] as const)('is tone-mapped to SDR (%s): the published picture keeps the contrast and colour of the SDR picture it was made from', async (transfer, hdr) => {
    // An SDR picture (testsrc2, BT.709) converted to BT.2020 with the HDR transfer at 100 cd/m², as HEVC Main 10.
    const sdr = path.join(dir, `sdr-${hdr}.mp4`);
    await run(paths.ffmpegPath, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-crf', '10', sdr], { env: ffmpegChildEnv() });
    const master = await makeHdrMaster(sdr, path.join(dir, `hdr-${hdr}.mp4`), hdr, paths);
    expect((await probe(master, paths)).video).toMatchObject({ hdr, pixelFormat: 'yuv420p10le' });
    const { outDir, record } = await encodeFixed(master, `hdr-${hdr}`);
    const top = record.renditions.filter((r) => r.kind === 'video').sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0]!;
    const published = await pictureStats(await renditionFile(outDir, top.uri));
    const original = await pictureStats(sdr);
    // Read as BT.709 the PQ picture had a fifth of the saturation and a third of the luma range.
    expect(published.satavg).toBeGreaterThan(0.7 * original.satavg);
    expect(published.range).toBeGreaterThan(0.7 * original.range);
    expect(Math.abs(published.yavg - original.yavg)).toBeLessThan(0.15 * original.yavg);
    // Measured against the master tone-mapped the same way (not against its PQ/HLG signal).
    expect(top.quality!.psnrDb).toBeGreaterThan(30);
  }, 120_000);
});

describe("a phone's portrait recording (coded 640x360, display matrix 90°)", () => {
  it('is published upright at its shown size: portrait rungs whose pictures match the turned master', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'phone.mp4'), durationS: 4, width: 640, height: 360, rotationDeg: 90 }, paths);
    const { record } = await encodeFixed(master, 'phone');
    const video = record.renditions.filter((r) => r.kind === 'video');
    expect(video.length).toBeGreaterThan(0);
    for (const r of video) expect(r.height).toBeGreaterThan(r.width);
    expect(video.at(-1)).toMatchObject({ width: 360, height: 640 });
    // A landscape ladder squeezed into portrait frames (the old behaviour) measured about 10 dB.
    for (const r of video) expect(r.kind === 'video' && r.quality?.psnrDb).toBeGreaterThan(30);
  }, 120_000);
});

describe('the per-title sample of an MPEG-TS master with 5 s GOPs (its seeks are not exact), and of an MP4', () => {
  it("holds the master's own frames at every window, not those from the next keyframe on, none twice", async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'long-gop.ts'), durationS: 20, width: 320, height: 180, frameRate: 24, keyframeIntervalS: 5 }, paths);
    const probed = await inspectMaster(master, paths);
    const keyframesS = await keyframesForSeeking(master, probed.formatName, paths);
    expect(keyframesS?.map((k) => Math.round(k * 1000) / 1000)).toEqual([0, 5, 10, 15]);
    const { settings } = planAnalysis(probed, 24, { segmentDurationS: 2, keyframesS });
    // The 4 s of two 2 s windows cut in three (MIN_SAMPLE_WINDOWS), 32 frames each, one per third of
    // the 20.03 s; each seeks from a second before the keyframe before it, the second one across the keyframe at 10 s.
    expect(settings.windows.map((w) => [Math.round(w.startS * 24), Math.round(w.durationS * 24), Math.round((w.seekFromS ?? -1) * 1000) / 1000])).toEqual([[64, 32, 0], [224, 32, 4], [384, 32, 14]]);
    const sample = await decodeSample(master, settings, dir, paths);
    const md5s = async (file: string) => {
      const { stdout } = await run(paths.ffmpegPath, ['-v', 'error', '-nostdin', '-i', file, '-map', '0:v:0', '-vsync', '0', '-f', 'framemd5', '-'], { env: ffmpegChildEnv(), maxBuffer: 64 * 1024 * 1024 });
      return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
    };
    const whole = await md5s(master);
    expect(whole).toHaveLength(480);
    // Each window's frames of the master from its start on, in order, none twice (a window
    // starting between two frames used to end with its last frame twice).
    const first = (w: { startS: number }) => Math.ceil(w.startS * 24 - 1e-6);
    const framesOf = (w: { startS: number; durationS: number }, all: string[]) => all.slice(first(w), first(w) + Math.round(w.durationS * 24));
    expect(await md5s(sample!)).toEqual(settings.windows.flatMap((w) => framesOf(w, whole)));
    // The same from an MP4 (sought exactly) of 20.7 s: its first two centred windows start 0.2 and
    // 0.6 of a frame before a frame (2.783 and 9.683 s).
    const mp4 = await makeSyntheticMaster({ path: path.join(dir, 'exact.mp4'), durationS: 20.7, width: 320, height: 180, frameRate: 24 }, paths);
    const exact = planAnalysis(await inspectMaster(mp4, paths), 24, { segmentDurationS: 2 }).settings;
    expect(exact.windows).toHaveLength(3);
    const mp4Whole = await md5s(mp4);
    expect(await md5s((await decodeSample(mp4, exact, dir, paths))!)).toEqual(exact.windows.flatMap((w) => framesOf(w, mp4Whole)));
  });
});

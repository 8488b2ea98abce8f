/**
 * The ffmpeg module against the real bundled ffmpeg: progress from out_time, cancellation
 * that really ends the process, a process environment, and errors that carry ffmpeg's own words.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOutTime, probe, resolveFfmpegPaths, runFfmpeg, type FfmpegPaths, type RunOptions } from '../../../src/encoder/ffmpeg.js';
import fs from 'node:fs/promises';
import { alignVideoPresentation, encodeVideoRendition } from '../../../src/encoder/rendition.js';
import { advancePresentation, firstCompositionOffset } from '../../../src/encoder/fmp4-composition.js';
import { firstDecodeTime, firstSidxPresentationTimeS, videoTimescale } from '../../../src/encoder/fmp4-rebase.js';
import { measureMediaPlaylist } from '../../../src/encoder/hls-packager.js';
import { EncodeCancelledError, FfmpegError } from '../../../src/util/errors.js';
import { LIBVMAF_MALLOC_ENV } from '../../../src/util/transparent-huge-pages.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let paths: FfmpegPaths;
let dir: string;
let master: string;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
  master = await makeSyntheticMaster({ path: path.join(dir, 'master.mp4'), durationS: 6 }, paths);
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('parseOutTime', () => {
  it('parses ffmpeg -progress out_time values', () => {
    expect(parseOutTime('00:00:01.500000')).toBe(1.5);
    expect(parseOutTime('01:02:03.250000')).toBe(3723.25);
    expect(parseOutTime('-00:00:00.040000')).toBeCloseTo(-0.04);
    expect(parseOutTime('N/A')).toBeNaN();
  });
});

describe('probe', () => {
  it('reads duration, video and audio of a master', async () => {
    const p = await probe(master, paths);
    expect(p.durationS).toBeCloseTo(6, 1);
    expect(p.video).toMatchObject({ codecName: 'h264', width: 640, height: 360, displayWidth: 640, displayHeight: 360, frameRate: 24 });
    expect(p.audio).toMatchObject({ codecName: 'aac', channels: 2, sampleRateHz: 48_000 });
  });

  it('lists every audio and subtitle stream with its language (as an RFC 5646 tag), title and dispositions', async () => {
    const file = await makeSyntheticMaster(
      {
        path: path.join(dir, 'two-languages.mkv'),
        durationS: 1,
        audioTracks: [{ language: 'eng' }, { language: 'fre', title: 'Commentaire', isDefault: true }, {}],
        subtitleTracks: [{ language: 'spa', isForced: true, cues: [{ startS: 0.2, endS: 0.8, text: 'Hola' }] }],
      },
      paths,
    );
    const p = await probe(file, paths);
    expect(p.audioStreams).toHaveLength(3);
    expect(p.audioStreams.map((a) => [a.audioIndex, a.language, a.title, a.isDefault])).toEqual([
      [0, 'en', undefined, false],
      [1, 'fr', 'Commentaire', true],
      [2, undefined, undefined, false],
    ]);
    expect(p.audio).toBe(p.audioStreams[0]);
    expect(p.subtitleStreams).toEqual([{ codecName: 'subrip', subtitleIndex: 0, language: 'es', isDefault: false, isForced: true, isText: true }]);
  });

  it('applies the sample aspect ratio (ffprobe writes it as 32:27) to the display size', async () => {
    const anamorphic = await makeSyntheticMaster({ path: path.join(dir, 'anamorphic.mp4'), durationS: 1, width: 720, height: 480, audio: false, videoFilter: 'setsar=32/27' }, paths);
    const p = await probe(anamorphic, paths);
    expect(p.video).toMatchObject({ width: 720, height: 480, displayWidth: 853, displayHeight: 480 });
    // The shared Tears of Steel WebM says 399:400: muxer rounding, kept square.
    const tos = await probe(path.resolve(import.meta.dirname, '../../../../shared/media/tos_liveaction_battle_800x332_24fps_70s_vp8_vorbis.webm'), paths);
    expect(tos.video).toMatchObject({ displayWidth: 800, displayHeight: 332 });
  });
});

describe('probe: masters the shipped static ffprobe once failed on', () => {
  it('reads an MPEG-TS master (the static ffprobe died with SIGSEGV on every .ts until its children ran with GCONV_PATH set)', async () => {
    const ts = await makeSyntheticMaster({ path: path.join(dir, 'broadcast.ts'), durationS: 1 }, paths);
    const p = await probe(ts, paths);
    expect(p.formatName).toBe('mpegts');
    expect(p.video).toMatchObject({ codecName: 'h264', displayWidth: 640, displayHeight: 360 });
    expect(p.audio?.codecName).toBe('aac');
  });

  it("turns the display size by the container's rotation, as ffmpeg's decoding turns the frames", async () => {
    const phone = await makeSyntheticMaster({ path: path.join(dir, 'phone.mp4'), durationS: 1, rotationDeg: 90 }, paths);
    const p = await probe(phone, paths);
    expect(p.video).toMatchObject({ width: 640, height: 360, rotationDeg: 90, displayWidth: 360, displayHeight: 640 });
    // Every filter graph relies on ffmpeg decoding the frames upright (-autorotate, its default).
    const frame = path.join(dir, 'phone-frame.png');
    await runFfmpeg({ inputs: [{ source: phone }], outputOptions: ['-frames:v', '1'], output: frame }, paths);
    expect((await probe(frame, paths)).video).toMatchObject({ width: 360, height: 640 });
    const upsideDown = await probe(await makeSyntheticMaster({ path: path.join(dir, 'upside-down.mp4'), durationS: 1, rotationDeg: 180 }, paths), paths);
    expect(upsideDown.video).toMatchObject({ rotationDeg: 180, displayWidth: 640, displayHeight: 360 });
  });
});

describe('runFfmpeg', () => {
  it('reports progress computed from out_time against the duration, rising to the end', async () => {
    const fractions: number[] = [];
    await encodeVideoRendition(
      { masterPath: master, outDir: path.join(dir, 'r0'), rung: { width: 416, height: 234, bitrateBps: 145_000 }, frameRate: 24, segmentDurationS: 4, x264Preset: 'veryfast' },
      paths,
      { durationS: 6, onProgress: (f) => fractions.push(f) },
    );
    expect(fractions.length).toBeGreaterThan(0);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]!);
    expect(Math.max(...fractions)).toBeGreaterThan(0.9);
    expect(Math.max(...fractions)).toBeLessThanOrEqual(1);
  });

  it("writes video segments that present from their boundary (CMAF): no B-frame delay in the first sample's composition offset, sidx from tfdt, no edit list", async () => {
    const out = path.join(dir, 'cmaf');
    await encodeVideoRendition({ masterPath: master, outDir: out, rung: { width: 416, height: 234, bitrateBps: 145_000 }, frameRate: 24, segmentDurationS: 4, x264Preset: 'veryfast' }, paths);
    const segments = (await fs.readdir(out)).filter((f) => f.endsWith('.m4s')).sort();
    expect(segments.length).toBeGreaterThanOrEqual(2);
    const init = await fs.readFile(path.join(out, 'init.mp4'));
    // The edit list is gone: its box is now free space of the same size (the elst bytes stay inside it).
    expect(init.includes(Buffer.from('edts'))).toBe(false);
    expect(init.includes(Buffer.from('free'))).toBe(true);
    let unchanged = 0;
    for (const name of segments) {
      const seg = await fs.readFile(path.join(out, name));
      expect(firstCompositionOffset(seg)).toBe(0);
      const tfdt = firstDecodeTime(seg);
      const sidx = firstSidxPresentationTimeS(seg)!;
      expect(sidx * videoTimescale(init)).toBeCloseTo(tfdt, 6);
      expect(tfdt / videoTimescale(init)).toBeCloseTo(4 * segments.indexOf(name), 6);
      // B-frames shown before their decode time: signed (version 1) offsets below zero.
      const trun = seg.indexOf(Buffer.from('trun'));
      expect(seg.readUInt8(trun + 4)).toBe(1);
      unchanged += advancePresentation(seg, 0).equals(seg) ? 1 : 0;
    }
    expect(unchanged).toBe(segments.length); // a zero delay changes nothing
    // Idempotent: a second pass finds no delay and leaves every byte as it is.
    const before = await Promise.all(segments.map((n) => fs.readFile(path.join(out, n))));
    await alignVideoPresentation(out);
    const after = await Promise.all(segments.map((n) => fs.readFile(path.join(out, n))));
    expect(after.every((b, i) => b.equals(before[i]!))).toBe(true);
  });

  /**
   * Starts ten minutes of encoding at a slow preset (far longer than a test) and cancels it at its
   * first progress report: the run rejects with EncodeCancelledError.
   */
  const cancelledAtFirstProgress = (output: string, options: Pick<RunOptions, 'onStart' | 'env'>) => {
    const controller = new AbortController();
    return runFfmpeg(
      {
        inputs: [{ source: 'testsrc2=size=640x360:rate=30:duration=600', format: 'lavfi' }],
        outputOptions: ['-c:v', 'libx264', '-preset', 'slow', '-f', 'mp4'],
        output: path.join(dir, output),
      },
      paths,
      { ...options, signal: controller.signal, durationS: 600, onProgress: () => controller.abort('test cancels') },
    );
  };

  it('cancelling really ends the ffmpeg process', async () => {
    let pid: number | undefined;
    const run = cancelledAtFirstProgress('long.mp4', {
      onStart: (p) => {
        pid = p;
      },
    });
    await expect(run).rejects.toBeInstanceOf(EncodeCancelledError);
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid!)).toBe(false);
  });

  it('starts ffmpeg with the environment variables it is given on top of its own (LIBVMAF_MALLOC_ENV for scoring processes)', async () => {
    let environ = '';
    const run = cancelledAtFirstProgress('env.mp4', {
      env: { ...LIBVMAF_MALLOC_ENV, VOD_TEST_MARK: 'x y' },
      onStart: (pid) => {
        environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      },
    });
    await expect(run).rejects.toBeInstanceOf(EncodeCancelledError);
    const vars = environ.split('\0');
    expect(vars).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=1', 'MALLOC_MMAP_MAX_=0', 'MALLOC_TRIM_THRESHOLD_=2000000000', 'VOD_TEST_MARK=x y', `PATH=${process.env.PATH}`]));
  });

  it('fails with the last lines ffmpeg wrote', async () => {
    const err = await runFfmpeg({ inputs: [{ source: master }], outputOptions: ['-c:v', 'no_such_encoder'], output: path.join(dir, 'x.mp4') }, paths).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    const e = err as FfmpegError;
    expect(e.ffmpegOutputTail.join('\n')).toMatch(/Unknown encoder 'no_such_encoder'/);
    expect(e.message).toMatch(/ffmpeg said:[\s\S]*Unknown encoder/);
  });

  it('fails cleanly on an input that does not exist', async () => {
    const err = await runFfmpeg({ inputs: [{ source: path.join(dir, 'missing.mp4') }], outputOptions: [], output: path.join(dir, 'y.mp4') }, paths).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    expect((err as FfmpegError).message).toMatch(/No such file or directory/);
  });
});

describe('capped-CRF renditions (per-title final encodes)', () => {
  it('hold a CRF that wants far more bits within the rung maxrate', async () => {
    // Temporal noise at CRF 18 wants several Mbit/s at 640x360; the rung caps it at 1.5 × 300k.
    const noisy = await makeSyntheticMaster({ path: path.join(dir, 'noisy.mp4'), durationS: 8, width: 640, height: 360, videoFilter: 'noise=alls=30:allf=t+u', audio: false }, paths);
    const outDir = path.join(dir, 'capped');
    const rung = { width: 640, height: 360, bitrateBps: 300_000, crf: 18 };
    await encodeVideoRendition({ masterPath: noisy, outDir, rung, frameRate: 24, segmentDurationS: 4, x264Preset: 'ultrafast' }, paths);
    const m = await measureMediaPlaylist(path.join(outDir, 'index.m3u8'));
    const maxrate = 1.5 * rung.bitrateBps;
    const bufsize = 2 * rung.bitrateBps;
    // The VBV (maxrate, bufsize) bounds any span of T seconds to maxrate·T + bufsize bits: the
    // whole title, and each segment.
    const totalS = m.segments.reduce((t, s) => t + s.durationS, 0);
    expect(m.averageBitrateBps).toBeLessThanOrEqual(maxrate + bufsize / totalS);
    expect(m.averageBitrateBps).toBeGreaterThan(maxrate * 0.7); // it was the cap that held it
    for (const s of m.segments) expect((s.sizeBytes * 8) / s.durationS).toBeLessThanOrEqual(maxrate + bufsize / s.durationS);
    // A rung near the ladder's cap peaks at its own maxrate (per-title-ladder.ts rungMaxrate), the buffer in proportion.
    const nearCap = { ...rung, maxrateBps: 330_000 };
    const capDir = path.join(dir, 'capped-at');
    await encodeVideoRendition({ masterPath: noisy, outDir: capDir, rung: nearCap, frameRate: 24, segmentDurationS: 4, x264Preset: 'ultrafast' }, paths);
    const c = await measureMediaPlaylist(path.join(capDir, 'index.m3u8'));
    expect(c.averageBitrateBps).toBeLessThanOrEqual(330_000 + (330_000 * 2) / 1.5 / totalS);
    expect(c.averageBitrateBps).toBeLessThan(m.averageBitrateBps * 0.9);
  });
});

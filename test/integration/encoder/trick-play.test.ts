/**
 * Trick play on a real encode (real ffmpeg): every video rendition gets an I-frame playlist whose
 * byte ranges, read after the init segment, decode to exactly one keyframe at the segment's
 * start; the multivariant playlist lists them (parsed with hls-parser); the thumbnail sprites
 * and their WebVTT track cover the title every 4 s with tiles inside the sprites.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTitle } from '../../../src/encoder/encode-title.js';
import { resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { THUMBNAIL_COLUMNS, THUMBNAIL_ROWS, THUMBNAILS_VTT } from '../../../src/encoder/trick-play.js';
import { titleRecordSchema, type TitleRecord } from '../../../src/origin/catalog.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
let dir: string;
let paths: FfmpegPaths;
let outDir: string;
let record: TitleRecord;
const DURATION_S = 14;

beforeAll(async () => {
  dir = await makeTempDir();
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  const master = await makeSyntheticMaster({ path: path.join(dir, 'trick.mp4'), durationS: DURATION_S, width: 640, height: 360 }, paths);
  outDir = path.join(dir, 'title');
  await fs.mkdir(outDir);
  record = titleRecordSchema.parse(
    await encodeTitle({ titleId: '00000000000000d1', title: 'Trick play', masterPath: master, masterFileName: 'trick.mp4', outDir, segmentDurationS: 4, x264Preset: 'ultrafast', ladderKind: 'fixed', measureRungs: false }, paths),
  );
}, 180_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** ffprobe's view of the video frames of a file: picture types and key flags. */
async function frames(file: string): Promise<{ key: boolean; type: string }[]> {
  const { stdout } = await run(paths.ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pict_type', '-of', 'csv=p=0', file]);
  return stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [key, type] = l.split(',');
    return { key: key === '1', type: type ?? '' };
  });
}

describe('I-frame playlists', () => {
  it('one per video rendition, listed as EXT-X-I-FRAME-STREAM-INF, each range one keyframe', async () => {
    const master = HLS.parse(await fs.readFile(path.join(outDir, 'master.m3u8'), 'utf8')) as InstanceType<typeof HLS.types.MasterPlaylist>;
    const video = record.renditions.filter((r) => r.kind === 'video');
    const iFrameVariants = master.variants.filter((v) => v.isIFrameOnly);
    expect(iFrameVariants.map((v) => v.uri)).toEqual(video.map((v) => (v.kind === 'video' ? v.iFrameUri : undefined)));
    expect(master.variants.filter((v) => !v.isIFrameOnly)).toHaveLength(video.length);
    for (const [i, v] of iFrameVariants.entries()) {
      const rung = video[i]!;
      expect(v.resolution).toEqual({ width: rung.width, height: rung.height });
      expect(v.codecs).toBe(rung.codecs);
      expect(v.bandwidth).toBeGreaterThan(0);
      expect(v.bandwidth).toBeLessThan(rung.peakBitrateBps); // a keyframe per segment is less than the whole segment

      const text = await fs.readFile(path.join(outDir, v.uri), 'utf8');
      expect(text).toMatch(/^#EXT-X-I-FRAMES-ONLY$/m);
      const playlist = HLS.parse(text) as InstanceType<typeof HLS.types.MediaPlaylist>;
      expect(playlist.isIFrame).toBe(true);
      expect(playlist.segments).toHaveLength(rung.kind === 'video' ? rung.segmentCount : 0);
      const rendDir = path.join(outDir, path.dirname(v.uri));
      const init = await fs.readFile(path.join(rendDir, playlist.segments[0]!.map!.uri));
      for (const [n, seg] of playlist.segments.entries()) {
        const bytes = await fs.readFile(path.join(rendDir, seg.uri));
        const { offset, length } = seg.byterange!;
        expect(offset! + length).toBeLessThan(bytes.length); // a part of the segment, not all of it
        const file = path.join(dir, `iframe-${i}-${n}.mp4`);
        await fs.writeFile(file, Buffer.concat([init, bytes.subarray(offset!, offset! + length)]));
        expect(await frames(file), `${v.uri} #${n}`).toEqual([{ key: true, type: 'I' }]);
      }
    }
  });
});

describe('thumbnail sprites', () => {
  it('cover the title every 4 s with tiles inside 5x5 sprites of 160-pixel frames', async () => {
    expect(record.thumbnails).toBe(THUMBNAILS_VTT);
    const vtt = await fs.readFile(path.join(outDir, THUMBNAILS_VTT), 'utf8');
    expect(vtt.startsWith('WEBVTT\n')).toBe(true);
    const cues = [...vtt.matchAll(/^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    expect(cues).toHaveLength(Math.ceil(DURATION_S / 4));
    const seconds = (t: string) => t.split(':').reduce((acc, p) => acc * 60 + Number(p), 0);
    expect(seconds(cues[0]![1]!)).toBe(0);
    expect(seconds(cues.at(-1)![2]!)).toBeCloseTo(DURATION_S, 0);
    for (const [k, c] of cues.entries()) {
      if (k > 0) expect(c[1]).toBe(cues[k - 1]![2]); // contiguous
      const [x, y, w, h] = [c[4], c[5], c[6], c[7]].map(Number) as [number, number, number, number];
      expect([w, h]).toEqual([160, 90]);
      const { stdout } = await run(paths.ffprobePath, ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path.join(outDir, path.dirname(THUMBNAILS_VTT), c[3]!)]);
      expect(stdout.trim()).toBe(`${THUMBNAIL_COLUMNS * 160},${THUMBNAIL_ROWS * 90}`);
      expect(x + w).toBeLessThanOrEqual(THUMBNAIL_COLUMNS * 160);
      expect(y + h).toBeLessThanOrEqual(THUMBNAIL_ROWS * 90);
    }
  });
});

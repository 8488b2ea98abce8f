/**
 * HEVC renditions (rendition.ts with `codec: 'hevc'`, real libx265 in the bundled ffmpeg): an
 * H.264 and an HEVC rung of one master encoded in one process (the ladder's `split`), each
 * checked with ffprobe — the HEVC one in an `hvc1` sample entry, a keyframe at the start of every
 * segment, its segments starting at the same decode times as the H.264 one's — and its CODECS
 * string read from the init segment agrees with ffprobe's profile and level; Common Encryption
 * (cenc.ts, HEVC NAL units with 2-byte headers) decrypts back through ffmpeg's decryptor.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { cencTrackOf, encryptSegmentCenc, protectInitSegment } from '../../../src/encoder/cenc.js';
import { hevcCodecString, videoCodecString } from '../../../src/encoder/codecs.js';
import { resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { firstDecodeTime } from '../../../src/encoder/fmp4-rebase.js';
import { encodeVideoRenditions, INIT_SEGMENT_NAME, MEDIA_PLAYLIST_NAME } from '../../../src/encoder/rendition.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
let dir: string;
let paths: FfmpegPaths;
const SEGMENT_S = 2;

beforeAll(async () => {
  dir = await makeTempDir();
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  const master = await makeSyntheticMaster({ path: path.join(dir, 'master.mp4'), durationS: 6, width: 640, height: 360 }, paths);
  const common = { masterPath: master, frameRate: 25, segmentDurationS: SEGMENT_S, x264Preset: 'ultrafast' };
  await encodeVideoRenditions(
    [
      { ...common, outDir: path.join(dir, 'h264'), rung: { width: 480, height: 270, bitrateBps: 400_000 } },
      { ...common, outDir: path.join(dir, 'hevc'), rung: { width: 480, height: 270, bitrateBps: 300_000, crf: 30, codec: 'hevc' } },
    ],
    paths,
  );
}, 120_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function keyframeTimes(folder: string): Promise<number[]> {
  const media = HLS.parse(await fs.readFile(path.join(folder, MEDIA_PLAYLIST_NAME), 'utf8')) as InstanceType<typeof HLS.types.MediaPlaylist>;
  const joined = path.join(folder, 'joined.mp4');
  await fs.writeFile(joined, Buffer.concat([await fs.readFile(path.join(folder, INIT_SEGMENT_NAME)), ...(await Promise.all(media.segments.map((s) => fs.readFile(path.join(folder, s.uri)))))]));
  const { stdout } = await run(paths.ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,best_effort_timestamp_time', '-of', 'csv=p=0', joined]);
  return stdout.trim().split('\n').map((l) => l.split(',')).filter(([k]) => k === '1').map(([, t]) => Number(Number(t).toFixed(3)));
}

describe('HEVC renditions', () => {
  it('are hvc1 with a keyframe at every segment start, aligned with the H.264 rung', async () => {
    const init = await fs.readFile(path.join(dir, 'hevc', INIT_SEGMENT_NAME));
    expect(init.indexOf('hvc1', 0, 'latin1')).toBeGreaterThan(0);
    expect(init.indexOf('hev1', 0, 'latin1')).toBe(-1);
    // Keyframes every segment (times from the first frame: x265's B-frames delay its first
    // presentation by two frames, which the edit list and the composition offsets carry).
    const hevc = await keyframeTimes(path.join(dir, 'hevc'));
    expect(hevc.map((t) => Number((t - hevc[0]!).toFixed(3)))).toEqual([0, 2, 4]);
    expect(hevc[0]).toBeLessThan(0.1);
    const h264 = await keyframeTimes(path.join(dir, 'h264'));
    expect(h264.map((t) => Number((t - h264[0]!).toFixed(3)))).toEqual([0, 2, 4]);
    // The same segment boundaries on the decode timeline (tfdt) in both codecs.
    const tfdts = async (codec: string) => {
      const folder = path.join(dir, codec);
      const media = HLS.parse(await fs.readFile(path.join(folder, MEDIA_PLAYLIST_NAME), 'utf8')) as InstanceType<typeof HLS.types.MediaPlaylist>;
      return Promise.all(media.segments.map(async (s) => firstDecodeTime(await fs.readFile(path.join(folder, s.uri)))));
    };
    expect(await tfdts('hevc')).toEqual(await tfdts('h264'));
  });

  it('gets a CODECS string from its hvcC that matches ffprobe\'s profile and level', async () => {
    const initPath = path.join(dir, 'hevc', INIT_SEGMENT_NAME);
    const init = await fs.readFile(initPath);
    const { stdout } = await run(paths.ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,profile,level,codec_tag_string', '-of', 'json', initPath]);
    const s = (JSON.parse(stdout) as { streams: { codec_name: string; profile: string; level: number; codec_tag_string: string }[] }).streams[0]!;
    expect(s).toMatchObject({ codec_name: 'hevc', profile: 'Main', codec_tag_string: 'hvc1' });
    const codecs = hevcCodecString(init);
    expect(codecs).toMatch(new RegExp(`^hvc1\\.1\\.6\\.L${s.level}(\\.[0-9A-F]{1,2})*$`));
    expect(videoCodecString(init)).toBe(codecs);
    expect(videoCodecString(await fs.readFile(path.join(dir, 'h264', INIT_SEGMENT_NAME)))).toMatch(/^avc1\./);
  });

  it('takes Common Encryption: every segment decrypts back to the clear frames with ffmpeg\'s decryptor', async () => {
    const folder = path.join(dir, 'hevc');
    const init = await fs.readFile(path.join(folder, INIT_SEGMENT_NAME));
    expect(cencTrackOf(init)).toEqual({ kind: 'video', nal: { codec: 'hevc', lengthSize: 4 } });
    const key = randomBytes(16);
    const protectedInit = protectInitSegment(init, randomBytes(16));
    const media = HLS.parse(await fs.readFile(path.join(folder, MEDIA_PLAYLIST_NAME), 'utf8')) as InstanceType<typeof HLS.types.MediaPlaylist>;
    const hashes = async (bytes: Buffer, withKey: boolean) => {
      const file = path.join(dir, `cenc-${randomBytes(4).toString('hex')}.mp4`);
      await fs.writeFile(file, bytes);
      const { stdout } = await run(paths.ffmpegPath, ['-v', 'quiet', ...(withKey ? ['-decryption_key', key.toString('hex')] : []), '-i', file, '-f', 'framemd5', '-']);
      return stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    };
    for (const s of media.segments) {
      const clear = await fs.readFile(path.join(folder, s.uri));
      const want = await hashes(Buffer.concat([init, clear]), false);
      expect(want.length).toBeGreaterThan(0);
      expect(await hashes(Buffer.concat([protectedInit, encryptSegmentCenc(clear, key, cencTrackOf(init))]), true)).toEqual(want);
    }
  });
});

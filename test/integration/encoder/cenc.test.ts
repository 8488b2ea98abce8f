/**
 * Common Encryption (encoder/cenc.ts) on a real encode: a title with video and audio encoded by
 * the real pipeline (clear), a copy of it encrypted rendition by rendition with `cenc`, then
 * checked with ffmpeg's own CENC decryptor (the mov demuxer's `-decryption_key`, an
 * implementation independent of ours): every segment of every rendition, read after its
 * protected init segment, decodes with the key to exactly the frames of the clear segment and
 * without it to other frames; the init segments carry encv/enca + sinf/tenc with the key id and
 * a common-system pssh; each segment index still adds up; the playlists carry one SAMPLE-AES-CTR
 * key tag for Clear Key.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cencTrackOf, COMMON_PSSH_SYSTEM_ID, protectInitSegment } from '../../../src/encoder/cenc.js';
import { encodeTitle } from '../../../src/encoder/encode-title.js';
import { resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { boxes, child } from '../../../src/encoder/fmp4-boxes.js';
import { cencKeyTag, encryptMediaPlaylistCenc } from '../../../src/encoder/hls-encryption.js';
import { deriveCencKey } from '../../../src/keys/content-keys.js';
import { titleRecordSchema, type TitleRecord } from '../../../src/origin/catalog.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
const TITLE_ID = '00000000000000c1';
let dir: string;
let paths: FfmpegPaths;
let clearDir: string;
let protectedDir: string;
let record: TitleRecord;
const { key, keyId } = deriveCencKey(randomBytes(32), TITLE_ID);
const LICENSE_URL = `http://127.0.0.1:9/clearkey/${TITLE_ID}`;

beforeAll(async () => {
  dir = await makeTempDir();
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  const master = await makeSyntheticMaster({ path: path.join(dir, 'cenc.mp4'), durationS: 8, width: 640, height: 360, audio: true }, paths);
  clearDir = path.join(dir, 'clear');
  await fs.mkdir(clearDir);
  record = titleRecordSchema.parse(
    await encodeTitle({ titleId: TITLE_ID, title: 'CENC', masterPath: master, masterFileName: 'cenc.mp4', outDir: clearDir, segmentDurationS: 4, x264Preset: 'ultrafast', ladderKind: 'fixed', measureRungs: false }, paths),
  );
  protectedDir = path.join(dir, 'protected');
  await fs.cp(clearDir, protectedDir, { recursive: true });
  for (const r of record.renditions) await encryptMediaPlaylistCenc(path.join(protectedDir, r.uri), key, keyId, cencKeyTag(LICENSE_URL, keyId));
}, 180_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** ffmpeg's frame checksums of one segment read after an init segment (with the key, if given). */
async function frameHashes(init: Buffer, segment: Buffer, withKey: boolean): Promise<string[]> {
  const file = path.join(dir, `probe-${randomBytes(4).toString('hex')}.mp4`);
  await fs.writeFile(file, Buffer.concat([init, segment]));
  const { stdout } = await run(paths.ffmpegPath, ['-v', 'quiet', ...(withKey ? ['-decryption_key', key.toString('hex')] : []), '-i', file, '-f', 'framemd5', '-']).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

const renditionFiles = async (root: string, uri: string) => {
  const media = HLS.parse(await fs.readFile(path.join(root, uri), 'utf8')) as InstanceType<typeof HLS.types.MediaPlaylist>;
  const folder = path.join(root, path.dirname(uri));
  return { media, init: await fs.readFile(path.join(folder, media.segments[0]!.map!.uri)), segments: await Promise.all(media.segments.map((s) => fs.readFile(path.join(folder, s.uri)))) };
};

describe('Common Encryption of a real title', () => {
  it('decrypts with ffmpeg and the key to exactly the clear frames, segment by segment, video and audio; without the key to other frames', async () => {
    expect(record.renditions.map((r) => r.kind)).toEqual(expect.arrayContaining(['video', 'audio']));
    for (const r of record.renditions) {
      const clear = await renditionFiles(clearDir, r.uri);
      const enc = await renditionFiles(protectedDir, r.uri);
      expect(enc.segments).toHaveLength(clear.segments.length);
      for (const [i, seg] of enc.segments.entries()) {
        const want = await frameHashes(clear.init, clear.segments[i]!, false);
        expect(want.length, `${r.uri} segment ${i}`).toBeGreaterThan(0);
        expect(await frameHashes(enc.init, seg, true), `${r.uri} segment ${i}`).toEqual(want);
        const without = await frameHashes(enc.init, seg, false);
        expect(without.filter((h, k) => h === want[k]).length, `${r.uri} segment ${i} decoded without the key`).toBeLessThan(want.length / 2);
      }
    }
  });

  it('signals the scheme in every init segment: encv/enca with frma, schm cenc, tenc with the key id, and a common pssh listing it', async () => {
    for (const r of record.renditions) {
      const { init } = await renditionFiles(protectedDir, r.uri);
      const moov = boxes(init, 0, init.length).find((b) => b.type === 'moov')!;
      const stbl = ['trak', 'mdia', 'minf', 'stbl'].reduce((b, t) => child(init, b, t)!, moov);
      const stsd = child(init, stbl, 'stsd')!;
      const entry = boxes(init, stsd.payload + 8, stsd.end)[0]!;
      expect(entry.type).toBe(r.kind === 'video' ? 'encv' : 'enca');
      const sinf = boxes(init, entry.payload + (r.kind === 'video' ? 78 : 28), entry.end).find((b) => b.type === 'sinf')!;
      expect(init.toString('latin1', child(init, sinf, 'frma')!.payload, child(init, sinf, 'frma')!.payload + 4)).toBe(r.kind === 'video' ? 'avc1' : 'mp4a');
      expect(init.toString('latin1', child(init, sinf, 'schm')!.payload + 4, child(init, sinf, 'schm')!.payload + 8)).toBe('cenc');
      const tenc = child(init, child(init, sinf, 'schi')!, 'tenc')!;
      expect(init.readUInt8(tenc.payload + 6)).toBe(1); // default_isProtected
      expect(init.readUInt8(tenc.payload + 7)).toBe(8); // default_Per_Sample_IV_Size
      expect(init.subarray(tenc.payload + 8, tenc.payload + 24)).toEqual(keyId);
      const pssh = child(init, moov, 'pssh')!;
      expect(init.subarray(pssh.payload + 4, pssh.payload + 20)).toEqual(COMMON_PSSH_SYSTEM_ID);
      expect(init.readUInt32BE(pssh.payload + 20)).toBe(1);
      expect(init.subarray(pssh.payload + 24, pssh.payload + 40)).toEqual(keyId);
      expect(() => cencTrackOf(init)).toThrow(/already protected/);
      expect(() => protectInitSegment(init, keyId)).toThrow(/already protected/);
    }
  });

  it('keeps each segment index true: the sidx references add up to the bytes after it', async () => {
    for (const r of record.renditions) {
      const { segments } = await renditionFiles(protectedDir, r.uri);
      for (const seg of segments) {
        const top = boxes(seg, 0, seg.length);
        const sidx = top.find((b) => b.type === 'sidx')!;
        const wide = seg.readUInt8(sidx.payload) === 1;
        const countAt = sidx.payload + 12 + (wide ? 16 : 8) + 2;
        let total = 0;
        for (let i = 0; i < seg.readUInt16BE(countAt); i++) total += seg.readUInt32BE(countAt + 2 + i * 12) & 0x7fffffff;
        expect(total).toBe(seg.length - sidx.end);
        const traf = child(seg, top.find((b) => b.type === 'moof')!, 'traf')!;
        expect(boxes(seg, traf.payload, traf.end).map((b) => b.type)).toEqual(expect.arrayContaining(['saiz', 'saio', 'senc']));
      }
    }
  });

  it('puts one SAMPLE-AES-CTR Clear Key tag before the init segment of every playlist, which hls-parser reads for every segment', async () => {
    for (const r of record.renditions) {
      const text = await fs.readFile(path.join(protectedDir, r.uri), 'utf8');
      const lines = text.split('\n');
      expect(lines.filter((l) => l.startsWith('#EXT-X-KEY'))).toEqual([`#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="${LICENSE_URL}",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1",KEYID=0x${keyId.toString('hex').toUpperCase()}`]);
      expect(lines.findIndex((l) => l.startsWith('#EXT-X-KEY'))).toBe(lines.findIndex((l) => l.startsWith('#EXT-X-MAP')) - 1);
      const media = HLS.parse(text) as InstanceType<typeof HLS.types.MediaPlaylist>;
      expect(media.segments.every((s) => s.key?.method === 'SAMPLE-AES-CTR' && s.key.format === 'org.w3.clearkey' && s.key.uri === LICENSE_URL)).toBe(true);
    }
  });
});

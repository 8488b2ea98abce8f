/**
 * Upload → real queue (embedded redis-server) → real worker → published title, checked with
 * a playlist library (hls-parser) and ffprobe: segment durations, keyframes at the same
 * timestamps at every segment start in every rendition, bandwidths against the real bytes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, probePackets, runFfmpeg } from '../../../src/encoder/ffmpeg.js';
import { masterObjectKey } from '../../../src/title/title-address.js';
import { readTitle } from '../../../src/origin/catalog.js';
import { uploadMaster } from '../../../src/ingest/upload.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { createTestStack, type TestStack } from '../../helpers/test-stack.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { runCli } from '../../helpers/run-cli.js';

/** Three 4 s segments. */
const DURATION_S = 12;
let stack: TestStack;
let master: string;
let titleId: string;
let titleDir: string;

beforeAll(async () => {
  // Short locks: an encode that outlives them must still not be reported stalled. 4 s chunks:
  // every video rendition is encoded in chunks and stitched, and must still pass every check.
  stack = await createTestStack({ env: { VOD_WORKER_LOCK_MS: '1000', VOD_STALLED_INTERVAL_MS: '1000', VOD_X264_PRESET: 'medium', VOD_CHUNK_DURATION_S: '4' } });
  const dir = await makeTempDir();
  master = await makeSyntheticMaster({ path: path.join(dir, 'synthetic.mp4'), durationS: DURATION_S, width: 640, height: 360 }, stack.paths);
  await stack.startWorker();
  const result = await uploadMaster({ file: master, title: 'Synthetic', ladder: 'fixed' }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });
  expect(result.enqueued).toBe(true);
  titleId = result.titleId;
  const final = await stack.queue.waitUntilFinished(titleId, () => {});
  expect(final.state, final.failedReason).toBe('completed');
  titleDir = stack.store.localPath(`vod/${titleId}`);
});

afterAll(async () => {
  await stack?.stop();
});

const parseMedia = async (rel: string) => {
  const p = HLS.parse(await fs.readFile(path.join(titleDir, rel), 'utf8'));
  if (p.isMasterPlaylist) throw new Error(`${rel} is not a media playlist`);
  return p;
};

describe('encode pipeline', () => {
  it('publishes a multivariant playlist with measured bandwidths, resolutions, frame rate, codecs and audio', async () => {
    const mv = HLS.parse(await fs.readFile(path.join(titleDir, 'master.m3u8'), 'utf8'));
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(mv.independentSegments).toBe(true);
    expect(mv.variants.filter((v) => !v.isIFrameOnly).map((v) => `${v.resolution?.width}x${v.resolution?.height}`)).toEqual(['416x234', '640x360']);
    expect(mv.variants.filter((v) => v.isIFrameOnly).map((v) => v.uri)).toEqual(['video_234p_145k/iframes.m3u8', 'video_360p_365k/iframes.m3u8']);
    const audioPlaylist = await parseMedia(mv.variants[0]!.audio[0]!.uri!);
    const audioBytes = await Promise.all(audioPlaylist.segments.map((s) => fs.stat(path.join(titleDir, 'audio_aac_128k', s.uri)).then((st) => st.size)));
    const audioDur = audioPlaylist.segments.reduce((a, s) => a + s.duration, 0);
    const audioAvg = (audioBytes.reduce((a, b) => a + b, 0) * 8) / audioDur;

    for (const v of mv.variants.filter((x) => !x.isIFrameOnly)) {
      expect(v.codecs).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
      expect(v.frameRate).toBe(24);
      expect(v.audio[0]?.groupId).toBe('audio-aac');
      const media = await parseMedia(v.uri);
      const dir = path.join(titleDir, path.dirname(v.uri));
      const sizes = await Promise.all(media.segments.map((s) => fs.stat(path.join(dir, s.uri)).then((st) => st.size)));
      const dur = media.segments.reduce((a, s) => a + s.duration, 0);
      const measuredAvg = (sizes.reduce((a, b) => a + b, 0) * 8) / dur + audioAvg;
      expect(Math.abs(v.averageBandwidth! - measuredAvg) / measuredAvg).toBeLessThan(0.1);
      expect(v.bandwidth).toBeGreaterThanOrEqual(v.averageBandwidth!);
    }
  });

  it('writes VOD media playlists of 4 s segments with an init segment', async () => {
    for (const rel of ['video_234p_145k/index.m3u8', 'video_360p_365k/index.m3u8', 'audio_aac_128k/index.m3u8']) {
      const media = await parseMedia(rel);
      expect(media.playlistType).toBe('VOD');
      expect(media.endlist).toBe(true);
      expect(media.targetDuration).toBe(4);
      expect(media.segments[0]!.map?.uri).toBe('init.mp4');
      const durations = media.segments.map((s) => s.duration);
      expect(durations.slice(0, -1).every((d) => Math.abs(d - 4) < 0.05), `${rel}: ${durations}`).toBe(true);
      expect(durations.reduce((a, b) => a + b, 0)).toBeCloseTo(DURATION_S, 0);
    }
  });

  it('starts every segment of every rendition with a keyframe, at the same timestamps', async () => {
    const starts: Record<string, number[]> = {};
    const work = await makeTempDir();
    for (const name of ['video_234p_145k', 'video_360p_365k']) {
      const media = await parseMedia(`${name}/index.m3u8`);
      const init = await fs.readFile(path.join(titleDir, name, 'init.mp4'));
      starts[name] = [];
      for (const seg of media.segments) {
        const joined = path.join(work, `${name}-${seg.uri}.mp4`);
        await fs.writeFile(joined, Buffer.concat([init, await fs.readFile(path.join(titleDir, name, seg.uri))]));
        const packets = await probePackets(joined, stack.paths);
        expect(packets.length).toBeGreaterThan(0);
        expect(packets[0]!.keyframe, `${name}/${seg.uri} starts with a keyframe`).toBe(true);
        starts[name]!.push(Math.min(...packets.map((p) => p.ptsS)));
      }
    }
    expect(starts.video_234p_145k).toHaveLength(3);
    expect(starts.video_360p_365k).toEqual(starts.video_234p_145k);
  });

  it('stores a title record consistent with the playlists, and an encode longer than the lock never stalled', async () => {
    const record = await readTitle(stack.store, titleId);
    expect(record).toBeDefined();
    expect(record!.title).toBe('Synthetic');
    expect(record!.renditions.filter((r) => r.kind === 'video').map((r) => r.uri)).toEqual(['video_234p_145k/index.m3u8', 'video_360p_365k/index.m3u8']);
    const job = await stack.queue.status(titleId);
    expect(job?.attemptsMade).toBe(1);
    expect(record!.encodeTimeS).toBeGreaterThan(1); // longer than VOD_WORKER_LOCK_MS
    // Nothing left in staging, the master kept under its content id.
    expect(await stack.store.list('masters')).toEqual([titleId]);
  });

  it('does not encode the same master twice, under any file name', async () => {
    const copy = path.join(await makeTempDir(), 'renamed copy.mov');
    await fs.copyFile(master, copy);
    const again = await uploadMaster({ file: copy }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });
    expect(again).toMatchObject({ titleId, state: 'published', enqueued: false });
    expect((await stack.queue.counts()).waiting).toBe(0);
  });

  it('vod upload of several files follows each title to published, then says all were', async () => {
    const dir = await makeTempDir();
    const masters = await Promise.all(['a', 'b'].map((n, k) => makeSyntheticMaster({ path: path.join(dir, `${n}.mp4`), durationS: 2, width: 320, height: 180, frameRate: 24 + k, audio: false }, stack.paths)));
    const r = await runCli(['--data-dir', stack.dataDir, 'upload', ...masters, '--ladder', 'fixed'], { env: { VOD_X264_PRESET: 'ultrafast', VOD_QUEUE_NAME: stack.queueName } });
    expect(r.code, r.stderr).toBe(0);
    const ids = [...r.stdout.matchAll(/Title id:\s+([0-9a-f]{16})/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(2);
    expect(r.stdout.match(/^Published: +[ab] \([0-9a-f]{16}\): http/gm)).toHaveLength(2);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('All 2 files published.');
    for (const id of ids) expect(await readTitle(stack.store, id)).toMatchObject({ titleId: id });
  });

  it('vod upload of a raw H.264 stream (no container) stores it wrapped in MP4 at its own 30 fps and publishes it', async () => {
    const file = path.join(await makeTempDir(), 'camera.h264');
    await runFfmpeg({ inputs: [{ source: 'testsrc2=size=320x180:rate=30:duration=4', format: 'lavfi' }], outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264'], output: file }, stack.paths);
    const r = await runCli(['--data-dir', stack.dataDir, 'upload', file, '--ladder', 'fixed'], { env: { VOD_X264_PRESET: 'ultrafast', VOD_QUEUE_NAME: stack.queueName } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Master: +320x180 h264, 4\.0 s, no audio$/m);
    expect(r.stdout).toMatch(/^Container: +none \(a raw h264 stream\); stored wrapped in MP4 at 30 fps \(the stream's own timing\), nothing re-encoded$/m);
    const id = /Title id:\s+([0-9a-f]{16})/.exec(r.stdout)![1]!;
    expect((await probe(stack.store.localPath(masterObjectKey(id, 'camera.h264.mp4')), stack.paths)).formatName).toMatch(/mp4/);
    const mv = HLS.parse(await fs.readFile(stack.store.localPath(`vod/${id}/master.m3u8`), 'utf8'));
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(mv.variants.filter((v) => !v.isIFrameOnly).map((v) => v.frameRate)).toEqual([30]);
  });

  it('vod upload names the size a rotated master is shown at, and publishes it upright', async () => {
    const file = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'phone.mp4'), durationS: 2, width: 320, height: 180, rotationDeg: 90, audio: false }, stack.paths);
    const r = await runCli(['--data-dir', stack.dataDir, 'upload', file, '--ladder', 'fixed'], { env: { VOD_X264_PRESET: 'ultrafast', VOD_QUEUE_NAME: stack.queueName } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Master: +320x180 \(shown 180x320\) h264, 2\.0 s, no audio$/m);
    const mv = HLS.parse(await fs.readFile(stack.store.localPath(`vod/${/Title id:\s+([0-9a-f]{16})/.exec(r.stdout)![1]!}/master.m3u8`), 'utf8'));
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(mv.variants.filter((v) => !v.isIFrameOnly).map((v) => `${v.resolution?.width}x${v.resolution?.height}`)).toEqual(['180x320']);
  });

  it('publishes a still-image master (a slideshow at 0.5 fps) at one frame a second, a keyframe on every segment', async () => {
    const file = path.join(await makeTempDir(), 'slides.mp4');
    await runFfmpeg(
      { inputs: [{ source: 'testsrc2=size=320x180:rate=0.5:duration=12', format: 'lavfi' }, { source: 'sine=frequency=220:duration=12', format: 'lavfi' }], outputOptions: ['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac'], output: file },
      stack.paths,
    );
    const r = await runCli(['--data-dir', stack.dataDir, 'upload', file, '--ladder', 'fixed'], { env: { VOD_X264_PRESET: 'ultrafast', VOD_QUEUE_NAME: stack.queueName } });
    expect(r.code, r.stderr).toBe(0);
    const dir = stack.store.localPath(`vod/${/Title id:\s+([0-9a-f]{16})/.exec(r.stdout)![1]!}`);
    const mv = HLS.parse(await fs.readFile(path.join(dir, 'master.m3u8'), 'utf8'));
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    const variant = mv.variants.find((v) => !v.isIFrameOnly)!;
    expect(variant.frameRate).toBe(1);
    const media = HLS.parse(await fs.readFile(path.join(dir, variant.uri), 'utf8'));
    if (media.isMasterPlaylist) throw new Error('expected a media playlist');
    expect(media.segments.map((seg) => seg.duration)).toEqual([4, 4, 4]);
    const rendition = path.join(dir, path.dirname(variant.uri));
    const init = await fs.readFile(path.join(rendition, 'init.mp4'));
    const work = await makeTempDir();
    for (const seg of media.segments) {
      const joined = path.join(work, `${seg.uri}.mp4`);
      await fs.writeFile(joined, Buffer.concat([init, await fs.readFile(path.join(rendition, seg.uri))]));
      const packets = await probePackets(joined, stack.paths);
      expect(packets.map((p) => p.keyframe)).toEqual([true, false, false, false]); // 4 frames, the first a keyframe
    }
  });

  it('vod upload of a master whose picture is not its first video stream stores a copy with it first and publishes the picture', async () => {
    // A 96x54 preview track before the 320x180 picture, then the sound: every encode reads the
    // first video stream, so the stored master must be a copy with the picture first.
    const file = path.join(await makeTempDir(), 'preview-first.mkv');
    await runFfmpeg(
      {
        inputs: [{ source: 'testsrc=size=96x54:rate=5:duration=2', format: 'lavfi' }, { source: 'testsrc2=size=320x180:rate=24:duration=2', format: 'lavfi' }, { source: 'sine=frequency=440:duration=2', format: 'lavfi' }],
        outputOptions: ['-map', '0:v', '-map', '1:v', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac'],
        output: file,
      },
      stack.paths,
    );
    const r = await runCli(['--data-dir', stack.dataDir, 'upload', file, '--ladder', 'fixed'], { env: { VOD_X264_PRESET: 'ultrafast', VOD_QUEUE_NAME: stack.queueName } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Master: +320x180 h264, 2\.0 s, audio aac/m);
    expect(r.stdout).toMatch(/^Picture: +video stream 0:v:1 \(the first is not the main picture\); stored a copy with it first, nothing re-encoded$/m);
    const id = /Title id:\s+([0-9a-f]{16})/.exec(r.stdout)![1]!;
    const stored = await probe(stack.store.localPath(masterObjectKey(id, 'preview-first.mkv')), stack.paths);
    expect(stored.videoStreams).toEqual([{ width: 320, height: 180, attachedPic: false }, { width: 96, height: 54, attachedPic: false }]);
    expect(stored.audioStreams).toHaveLength(1);
    const mv = HLS.parse(await fs.readFile(stack.store.localPath(`vod/${id}/master.m3u8`), 'utf8'));
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(mv.variants.filter((v) => !v.isIFrameOnly).map((v) => `${v.resolution?.width}x${v.resolution?.height}`)).toEqual(['320x180']);
  });
});

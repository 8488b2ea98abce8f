/**
 * A chunked title as a BullMQ flow on a real Redis: its chunk jobs (a chunk of the whole ladder each) are spread over
 * the workers there are, a worker killed mid-chunk costs that chunk only (retried alone, the
 * others done once), and the published title is whole, every frame of the master once, its
 * quality summarised from what each chunk's child measured.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { probePackets, runFfmpeg, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { joinFmp4Rendition, measureMediaPlaylist } from '../../../src/encoder/hls-packager.js';
import { measureQuality } from '../../../src/encoder/quality-metrics.js';
import type { LadderReport } from '../../../src/encoder/ladder-report.js';
import { inspectMaster } from '../../../src/encoder/master-check.js';
import { analyzeTitle, candidateResolutions } from '../../../src/encoder/per-title.js';
import { outputFrameRate } from '../../../src/encoder/title-stages.js';
import type { TitleRecord } from '../../../src/origin/catalog.js';
import { startEncodeWorker, stopEncodeWorker } from '../../../src/ingest/encode-worker.js';
import { workPrefix } from '../../../src/ingest/flow-store.js';
import { uploadMaster } from '../../../src/ingest/upload.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { runCli, VOD_BIN } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { createTestStack, type TestStack } from '../../helpers/test-stack.js';

const env = { VOD_CHUNK_DURATION_S: '4', VOD_WORKER_LOCK_MS: '2000', VOD_STALLED_INTERVAL_MS: '1000', VOD_RETRY_BACKOFF_MS: '200', VOD_X264_PRESET: 'ultrafast' };
let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/**
 * The frequency of a published audio rendition's tone, Hz: the rendition joined, decoded to mono
 * 16-bit PCM at 48 kHz, zero crossings counted (a sine crosses zero twice per period).
 */
async function dominantFrequencyHz(playlist: string, paths: FfmpegPaths): Promise<number> {
  const dir = await makeTempDir();
  const joined = path.join(dir, 'audio.mp4');
  await joinFmp4Rendition(playlist, await measureMediaPlaylist(playlist), joined);
  const pcm = path.join(dir, 'audio.s16');
  await runFfmpeg({ inputs: [{ source: joined }], outputOptions: ['-f', 's16le', '-ac', '1', '-ar', '48000'], output: pcm }, paths);
  const bytes = await fs.readFile(pcm);
  const samples = new Int16Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 2));
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
  return crossings / 2 / (samples.length / 48_000);
}

/** The published title's renditions joined, each checked against the master's frames. */
async function expectWhole(s: TestStack, titleId: string, master: string): Promise<void> {
  const dir = s.store.localPath(`vod/${titleId}`);
  const mv = HLS.parse(await fs.readFile(path.join(dir, 'master.m3u8'), 'utf8'));
  if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
  const masterFrames = (await probePackets(master, s.paths)).length;
  for (const v of mv.variants.filter((x) => !x.isIFrameOnly)) {
    const playlist = path.join(dir, v.uri);
    const media = await measureMediaPlaylist(playlist);
    const joined = path.join(await makeTempDir(), 'joined.mp4');
    await joinFmp4Rendition(playlist, media, joined);
    expect((await probePackets(joined, s.paths)).length, v.uri).toBe(masterFrames);
  }
  expect(await s.store.exists(workPrefix(titleId))).toBe(false); // the work prefix is gone
}

/**
 * Each chunk's child measured its own frames; the title's quality summarised from them must be
 * what measuring the whole published rendition against the whole master gives (same frames:
 * PSNR from the mean MSE, mean SSIM, and the same 5th-percentile frame).
 */
async function expectChunkQualityMatchesWhole(s: TestStack, titleId: string, master: string): Promise<void> {
  const dir = s.store.localPath(`vod/${titleId}`);
  const record = JSON.parse(await fs.readFile(path.join(dir, 'title.json'), 'utf8')) as TitleRecord;
  const video = record.renditions.filter((r) => r.kind === 'video');
  expect(video.length).toBeGreaterThan(0);
  for (const r of video) {
    expect(r.quality?.low, r.uri).toBeDefined();
    const playlist = path.join(dir, r.uri);
    const joined = path.join(await makeTempDir(), 'whole.mp4');
    await joinFmp4Rendition(playlist, await measureMediaPlaylist(playlist), joined);
    const whole = await measureQuality({ distorted: joined, reference: master, width: 640, height: 360, frameRate: r.frameRate }, s.paths);
    expect(r.quality!.psnrDb, r.uri).toBeCloseTo(whole.psnrDb, 2);
    expect(r.quality!.ssim, r.uri).toBeCloseTo(whole.ssim!, 4);
    expect(r.quality!.low!.psnrDb, r.uri).toBeCloseTo(whole.low!.psnrDb, 2);
    expect(r.quality!.low!.ssim, r.uri).toBeCloseTo(whole.low!.ssim!, 4);
  }
  const report = JSON.parse(await fs.readFile(path.join(dir, record.ladderReport!), 'utf8')) as { timings: { measureS: number } };
  expect(report.timings.measureS).toBeGreaterThan(0); // the children's measuring time
}

describe('chunked title flow', () => {
  it('spreads chunk jobs (the whole ladder of a chunk each) and one job per audio track over two workers, and publishes the title whole', async () => {
    stack = await createTestStack({ env });
    // Two audio languages, the second marked default: each becomes its own audio child and rendition.
    const audioTracks = [{ language: 'eng' }, { language: 'fre', isDefault: true }];
    // And a subtitle stream (MP4 timed text), packaged as WebVTT by the title job.
    const subtitleTracks = [{ language: 'spa', cues: [{ startS: 3, endS: 5, text: 'Hola' }] }];
    const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'flow.mp4'), durationS: 12, width: 640, height: 360, audioTracks, subtitleTracks }, stack.paths);
    const workers = [
      await startEncodeWorker({ redis: stack.redis, config: stack.config, store: stack.store, paths: stack.paths, queueName: stack.queueName!, name: 'worker-a' }),
      await startEncodeWorker({ redis: stack.redis, config: stack.config, store: stack.store, paths: stack.paths, queueName: stack.queueName!, name: 'worker-b' }),
    ];
    try {
      // A side file given at upload: the title job that assembles fetches it from the store.
      const side = path.join(path.dirname(master), 'side.vtt');
      await fs.writeFile(side, 'WEBVTT\n\n00:00:09.000 --> 00:00:10.000\nCiao\n');
      const { titleId } = await uploadMaster({ file: master, title: 'Flow', ladder: 'fixed', subtitles: [{ language: 'it', file: side }] }, { store: stack.store, queue: async () => stack!.queue, paths: stack.paths });
      const seen = new Set<string>();
      const final = await stack.queue.waitUntilFinished(titleId, (s) => s.children && seen.add(`${s.children.done}/${s.children.total}`));
      expect(final.state, final.failedReason).toBe('completed');
      expect([...seen].some((c) => c.endsWith('/5'))).toBe(true); // 3 chunks (2 renditions each) + 2 audio tracks
      // Who ran the children: both workers took some.
      const queue = (stack.queue as unknown as { queue: import('bullmq').Queue }).queue;
      const children = await queue.getJobs(['completed'], 0, 100);
      const chunkJobs = children.filter((j) => j.name === 'encode-chunk');
      expect(chunkJobs).toHaveLength(3);
      expect(new Set(chunkJobs.map((j) => j.processedBy))).toEqual(new Set(['worker-a', 'worker-b']));
      // Each chunk's child measured its own quality (the title job did not measure whole renditions).
      expect(chunkJobs.every((j) => (j.returnvalue as { measureS?: number }).measureS! > 0)).toBe(true);
      expect(children.filter((j) => j.name === 'encode-audio').map((j) => j.data.rendition).sort()).toEqual(['audio_aac_128k', 'audio_aac_128k_2']);
      await expectWhole(stack, titleId, master);
      await expectChunkQualityMatchesWhole(stack, titleId, master);
      // Both languages are in the audio group, French by default, each its own track of the master.
      const dir = stack.store.localPath(`vod/${titleId}`);
      const mv = HLS.parse(await fs.readFile(path.join(dir, 'master.m3u8'), 'utf8'));
      if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
      const tracks = mv.variants[0]!.audio;
      expect(tracks.map((a) => [a.name, a.language, a.isDefault, a.uri])).toEqual([
        ['English', 'en', false, 'audio_aac_128k/index.m3u8'],
        ['French', 'fr', true, 'audio_aac_128k_2/index.m3u8'],
      ]);
      expect(mv.variants[0]!.subtitles.map((t) => [t.name, t.language, t.uri])).toEqual([
        ['Spanish', 'es', 'subtitles_1/index.m3u8'],
        ['Italian', 'it', 'subtitles_2/index.m3u8'],
      ]);
      expect(await fs.readFile(path.join(dir, 'subtitles_2', 'seg_00002.vtt'), 'utf8')).toContain('00:00:09.000 --> 00:00:10.000\nCiao\n');
      const vtt = await Promise.all([0, 1].map((k) => fs.readFile(path.join(dir, 'subtitles_1', `seg_0000${k}.vtt`), 'utf8')));
      for (const doc of vtt) expect(doc).toMatch(/^WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00\.000\n[\s\S]*00:00:03\.000 --> 00:00:05\.000\nHola\n/); // in both segments it spans
      const tones = await Promise.all(tracks.map((a) => dominantFrequencyHz(path.join(dir, a.uri!), stack!.paths)));
      expect(tones[0]).toBeCloseTo(440, -1); // the fixture's first track is a 440 Hz sine, the second 880 Hz
      expect(tones[1]).toBeCloseTo(880, -1);
      // `vod status <id>` lists the children: all done, and each worker's share.
      const st = await runCli(['--data-dir', stack.dataDir, 'status', titleId], { env: { ...env, VOD_QUEUE_NAME: stack.queueName } });
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toMatch(/^Chunks: +5\/5 child jobs done, 0 running$/m);
      expect(st.stdout).toMatch(/^Audio: +English \(en\) 2 ch mp4a\.40\.2; French \(fr\) 2 ch mp4a\.40\.2, default$/m);
      expect(st.stdout).toMatch(/^Subtitles: Spanish \(es\); Italian \(it\)$/m);
      expect(st.stdout).toMatch(/^ +worker worker-a: [1-9]\d* done$/m);
      expect(st.stdout).toMatch(/^ +worker worker-b: [1-9]\d* done$/m);
      // `--watch --json` prints one report per line and ends by itself once the job has completed.
      const watched = await runCli(['--data-dir', stack.dataDir, 'status', titleId, '--json', '--watch', '0.2'], { env: { ...env, VOD_QUEUE_NAME: stack.queueName } });
      expect(watched.code, watched.stderr).toBe(0);
      const lines = watched.stdout.trim().split('\n').map((l) => JSON.parse(l) as { at: string; job: { state: string }; children: unknown[] });
      expect(lines).toHaveLength(1);
      expect(Date.parse(lines[0]!.at)).toBeGreaterThan(Date.now() - 60_000);
      expect(lines[0]!.job.state).toBe('completed');
      expect(lines[0]!.children).toHaveLength(5);
    } finally {
      for (const w of workers) await stopEncodeWorker(w);
    }
  });

  it('spreads a per-title analysis as trial-group jobs, and chooses the ladder a local analysis chooses', async () => {
    stack = await createTestStack({ env });
    const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'per-title-flow.mp4'), durationS: 10, width: 640, height: 360 }, stack.paths);
    const workers = [
      await startEncodeWorker({ redis: stack.redis, config: stack.config, store: stack.store, paths: stack.paths, queueName: stack.queueName!, name: 'worker-a' }),
      await startEncodeWorker({ redis: stack.redis, config: stack.config, store: stack.store, paths: stack.paths, queueName: stack.queueName!, name: 'worker-b' }),
    ];
    try {
      const { titleId } = await uploadMaster({ file: master, title: 'Per-title flow', ladder: 'per-title' }, { store: stack.store, queue: async () => stack!.queue, paths: stack.paths });
      const steps = new Set<string>();
      const final = await stack.queue.waitUntilFinished(titleId, (s) => s.flowStep && steps.add(s.flowStep));
      expect(final.state, final.failedReason).toBe('completed');
      expect([...steps]).toEqual(['analyze', 'encode']); // the title job waited for its trial groups, then for its chunks
      const queue = (stack.queue as unknown as { queue: import('bullmq').Queue }).queue;
      const trialJobs = (await queue.getJobs(['completed'], 0, 100)).filter((j) => j.name === 'analyze-trials');
      const probed = await inspectMaster(master, stack.paths);
      const resolutions = candidateResolutions(probed.video!);
      // Wave 0: one job per candidate resolution; later waves: the coarse-to-fine search's refinement.
      expect(trialJobs.filter((j) => (j.data.wave ?? 0) === 0)).toHaveLength(resolutions.length);
      expect(trialJobs.filter((j) => (j.data.wave ?? 0) === 0).every((j) => j.data.trials !== undefined)).toBe(true);
      expect(trialJobs.some((j) => (j.data.wave ?? 0) > 0)).toBe(true); // this master's hull asked for more
      // The ladder chosen from the children's points is the one a local analysis chooses
      // (the same trials: x264 and the metrics are deterministic on one machine).
      const dir = stack.store.localPath(`vod/${titleId}`);
      const record = JSON.parse(await fs.readFile(path.join(dir, 'title.json'), 'utf8')) as TitleRecord;
      const report = JSON.parse(await fs.readFile(path.join(dir, record.ladderReport!), 'utf8')) as LadderReport;
      const local = await analyzeTitle(master, probed, outputFrameRate(probed.video!), stack.paths, { segmentDurationS: stack.config.segmentDurationS, finalPreset: stack.config.x264Preset, ...(stack.config.vmafModelPath ? { vmafModelPath: stack.config.vmafModelPath } : {}) });
      expect(report.analysis!.settings.search).toBe('coarse-to-fine');
      expect(report.analysis!.points).toEqual(local.points);
      expect(report.analysis!.rungs).toEqual(local.rungs);
      expect(new Set(report.analysis!.points.map((p) => p.height))).toEqual(new Set(resolutions.map((r) => r.height)));
      await expectWhole(stack, titleId, master);
      // `vod status <id>` lists the trial groups beside the chunks.
      const st = await runCli(['--data-dir', stack.dataDir, 'status', titleId], { env: { ...env, VOD_QUEUE_NAME: stack.queueName } });
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toMatch(new RegExp(`^Analysis: +${trialJobs.length}/${trialJobs.length} trial jobs done$`, 'm'));
    } finally {
      for (const w of workers) await stopEncodeWorker(w);
    }
  });

  it('retries only the chunk a killed worker held; every other chunk is encoded once', async () => {
    stack = await createTestStack({ env });
    const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'kill.mp4'), durationS: 16, width: 960, height: 540 }, stack.paths);
    const queue = (stack.queue as unknown as { queue: import('bullmq').Queue }).queue;
    const { titleId } = await uploadMaster({ file: master, title: 'Kill a chunk', ladder: 'fixed' }, { store: stack.store, queue: async () => stack!.queue, paths: stack.paths });
    // A worker in its own process (as on another machine) takes the title and its first child…
    const child = spawn(process.execPath, [VOD_BIN, '--data-dir', stack.dataDir, '--log-level', 'warn', 'worker'], {
      env: { ...process.env, ...env, VOD_QUEUE_NAME: stack.queueName },
      stdio: 'ignore',
    });
    let victim: string | undefined;
    try {
      await expect
        .poll(async () => {
          const active = (await queue.getJobs(['active'], 0, 20)).find((j) => j.name === 'encode-chunk' && ((j.progress as { percent?: number })?.percent ?? 0) > 5);
          victim = active?.id;
          return victim;
        }, { timeout: 60_000, interval: 100 })
        .toBeDefined();
      // `vod status` shows who holds it.
      expect((await stack.queue.children(titleId)).find((c) => c.jobId === victim)).toMatchObject({ kind: 'chunk', state: 'active', worker: `${os.hostname()}:${child.pid}` });
    } finally {
      child.kill('SIGKILL'); // …and dies in the middle of it.
      await new Promise((r) => child.once('exit', r));
    }
    const worker = await startEncodeWorker({ redis: stack.redis, config: stack.config, store: stack.store, paths: stack.paths, queueName: stack.queueName!, name: 'survivor' });
    try {
      const final = await stack.queue.waitUntilFinished(titleId, () => {});
      expect(final.state, final.failedReason).toBe('completed');
      const all = (await queue.getJobs(['completed'], 0, 100)).filter((j) => j.name === 'encode-chunk' || j.name === 'encode-audio');
      expect(all.length).toBeGreaterThan(3);
      for (const j of all) {
        if (j.id === victim) expect(j.stalledCounter, `${j.id} was retried`).toBe(1);
        else expect(j.attemptsStarted, `${j.id} ran once`).toBe(1);
      }
      await expectWhole(stack, titleId, master);
    } finally {
      await stopEncodeWorker(worker);
    }
  });
});

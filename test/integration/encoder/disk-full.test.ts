/**
 * A full disk under an encode: the bundled 2018 ffmpeg's hls muxer exits 0 when its writes fail
 * with ENOSPC (cut segments, an empty playlist), and the job then failed three times with
 * "malformed 'mdat' box at byte 564". runFfmpeg must say the disk is full instead. The full disk
 * is a 2 MiB tmpfs, so the test needs root (CI runs as root; the multi-node test does too).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths, runFfmpeg, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { FfmpegError } from '../../../src/util/errors.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
let paths: FfmpegPaths;
let mountPoint: string;
let mounted = false;

/** Makes `dir` and mounts a tmpfs of `size` (mount's syntax: 2m, 256k) on it; unmount with `run('umount', [dir])`. */
async function tmpfsAt(dir: string, size: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return dir;
}

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  mountPoint = path.join(await makeTempDir(), 'small');
  if (isRoot) {
    await tmpfsAt(mountPoint, '2m');
    mounted = true;
  }
});

afterAll(async () => {
  if (mounted) await run('umount', [mountPoint]);
});

const hlsEncode = (outDir: string, durationS: number) => ({
  inputs: [{ source: `testsrc2=size=640x360:rate=25:duration=${durationS}`, format: 'lavfi' }],
  outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '5', '-g', '50', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4', '-hls_segment_filename', path.join(outDir, 'seg_%05d.m4s')],
  output: path.join(outDir, 'index.m3u8'),
});

describe.skipIf(!isRoot)('an ffmpeg encode onto a full disk (needs root for a tmpfs)', () => {
  it('fails with a sentence that says the disk is full, not later on a cut segment', async () => {
    // Fits: a short low-rate encode leaves the disk with room to spare.
    const small = path.join(mountPoint, 'fits');
    await fs.mkdir(small);
    await runFfmpeg({ ...hlsEncode(small, 1), outputOptions: hlsEncode(small, 1).outputOptions.map((o) => (o === '5' ? '40' : o)) }, paths);
    // Does not fit: ~10 MB of near-lossless video into what is left of 2 MiB.
    const big = path.join(mountPoint, 'big');
    await fs.mkdir(big);
    const err = await runFfmpeg(hlsEncode(big, 8), paths).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FfmpegError);
    expect((err as Error).message.split('\n')[0]).toMatch(new RegExp(`^ffmpeg failed writing .*index\\.m3u8: the disk holding ${big.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is full \\(\\d+ bytes free\\), so ffmpeg's output is incomplete`));
    // ffmpeg itself did exit 0: this is our check, not its exit code.
    expect((err as FfmpegError).exitCode).toBe(0);
  });
});

describe.skipIf(!isRoot)('a title encoded onto a full object store (needs root for a tmpfs)', () => {
  it('fails the job saying a disk is full, and leaves the titles already published as they were', async () => {
    const { createTestStack } = await import('../../helpers/test-stack.js');
    const { uploadMaster } = await import('../../../src/ingest/upload.js');
    const { makeSyntheticMaster } = await import('../../../fixtures/synthetic-master.js');
    const dataDir = await makeTempDir();
    const store = await tmpfsAt(path.join(dataDir, 'store'), '64m');
    const stack = await createTestStack({ dataDir, env: { VOD_JOB_ATTEMPTS: '1' } });
    try {
      const inputs = await makeTempDir();
      const small = await makeSyntheticMaster({ path: path.join(inputs, 'small.mp4'), durationS: 2, width: 320, height: 180 }, stack.paths);
      const big = await makeSyntheticMaster({ path: path.join(inputs, 'big.mp4'), durationS: 8, width: 1280, height: 720 }, stack.paths);
      await stack.startWorker();
      const deps = { store: stack.store, queue: async () => stack.queue, paths: stack.paths };
      const first = await uploadMaster({ file: small, title: 'Small', ladder: 'fixed' }, deps);
      expect((await stack.queue.waitUntilFinished(first.titleId, () => {})).state).toBe('completed');
      const before = await fs.readFile(path.join(store, 'vod', first.titleId, 'master.m3u8'));
      // Leave room for the big master and 1.5 MiB more: its ladder (~7 MB) does not fit.
      const { bavail, bsize } = await fs.statfs(store);
      await fs.writeFile(path.join(store, 'filler.bin'), Buffer.alloc(bavail * bsize - (await fs.stat(big)).size - 1.5 * 2 ** 20));
      const second = await uploadMaster({ file: big, title: 'Big', ladder: 'fixed' }, deps);
      const final = await stack.queue.waitUntilFinished(second.titleId, () => {});
      expect(final.state).toBe('failed');
      expect(final.failedReason).toMatch(/(the disk holding \S+ is full \(\d+ bytes free\)|a disk is full \(ENOSPC)/);
      expect(final.failedReason).not.toMatch(/malformed|box at byte/);
      // Nothing of the failed title published; the first one untouched.
      expect(await stack.store.exists(`vod/${second.titleId}`)).toBe(false);
      expect(await fs.readFile(path.join(store, 'vod', first.titleId, 'master.m3u8'))).toEqual(before);
    } finally {
      await stack.stop();
      await run('umount', [store]);
    }
  }, 240_000);
});

describe.skipIf(!isRoot)('vod upload onto a full object store (needs root for a tmpfs)', () => {
  it('says in one sentence that a disk is full, exit 1, and leaves nothing in the store', async () => {
    const { runCli } = await import('../../helpers/run-cli.js');
    const { makeSyntheticMaster } = await import('../../../fixtures/synthetic-master.js');
    const dataDir = await makeTempDir();
    const store = await tmpfsAt(path.join(dataDir, 'store'), '256k');
    try {
      const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'master.mp4'), durationS: 4, width: 640, height: 360 }, paths);
      const r = await runCli(['upload', '--no-wait', master], { env: { VOD_DATA_DIR: dataDir } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^vod: a disk is full \(ENOSPC: no space left on device, [^\n]+\); free some space and retry\.\n$/);
      const left = await fs.readdir(store, { recursive: true });
      expect(left.filter((f) => !f.endsWith('.staging') && !f.endsWith('masters'))).toEqual([]);
    } finally {
      // The upload started the data folder's embedded Redis, which outlives it by design.
      const { ensureRedis, shutdownRedis } = await import('../../../src/ingest/redis-server.js');
      const { testConfig } = await import('../../helpers/test-stack.js');
      await shutdownRedis((await ensureRedis(testConfig(dataDir))).endpoint);
      await run('umount', [store]);
    }
  }, 120_000);
});

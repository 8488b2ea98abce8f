/**
 * The queue on a real redis-server: retries with backoff and a readable failure reason,
 * re-upload of a failed title, and queued jobs surviving a Redis restart (AOF).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { ensureRedis, pingRedis, shutdownRedis, superviseRedis } from '../../../src/ingest/redis-server.js';
import { EncodeQueue } from '../../../src/ingest/encode-queue.js';
import { uploadMaster } from '../../../src/ingest/upload.js';
import { masterObjectKey } from '../../../src/title/title-address.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { failSaves, fixSaves } from '../../helpers/redis-saves.js';
import { runCli } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { createTestStack, type TestStack } from '../../helpers/test-stack.js';

let stack: TestStack;
let master: string;
let failFlag: string;

beforeAll(async () => {
  // The worker runs the real ffmpeg through a wrapper that fails while a flag file exists:
  // it isolates BullMQ's retry and backoff from any real encoding problem.
  const dir = await makeTempDir();
  failFlag = path.join(dir, 'fail');
  const wrapper = path.join(dir, 'ffmpeg-wrapper.sh');
  const realFfmpeg = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined }).ffmpegPath;
  // Only encodes fail: the upload's decode check (ffmpeg ... -f framemd5 -) runs as usual.
  await fs.writeFile(wrapper, `#!/bin/sh\ncase "$*" in *framemd5*) ;; *) if [ -e '${failFlag}' ]; then echo 'simulated encoder failure' >&2; exit 1; fi ;; esac\nexec '${realFfmpeg}' "$@"\n`, { mode: 0o755 });
  stack = await createTestStack({ env: { VOD_JOB_ATTEMPTS: '2', FFMPEG_PATH: wrapper } });
  master = await makeSyntheticMaster({ path: path.join(dir, 'm.mp4'), durationS: 3 }, stack.paths);
});

afterAll(async () => {
  await stack?.stop();
});

describe('encode queue', () => {
  it('retries a failing encode with backoff, then reports why it failed; a re-upload retries it', async () => {
    const deps = { store: stack.store, queue: async () => stack.queue, paths: stack.paths };
    await fs.writeFile(failFlag, '');
    const { titleId } = await uploadMaster({ file: master, title: 'Will fail' }, deps);
    await stack.startWorker();
    const states: string[] = [];
    const final = await stack.queue.waitUntilFinished(titleId, (s) => states.push(s.state), { pollMs: 20 }).finally(() => fs.rm(failFlag, { force: true }));
    expect(final.state).toBe('failed');
    expect(final.attemptsMade, final.failedReason).toBe(2);
    // The default per-title ladder fails at its first ffmpeg run: decoding the analysis sample.
    expect(final.failedReason).toMatch(/^ffmpeg failed writing .*\.per-title-.*sample-\d+x\d+\.nut[\s\S]*ffmpeg said:[\s\S]*simulated encoder failure/);
    expect(states).toContain('delayed'); // the backoff between the two attempts
    expect(await stack.store.list('vod')).toEqual([]);

    // `vod status <title>` shows state, attempts and the reason (the CLI reads the default
    // queue, so ask the library the CLI uses for the same fields here).
    const status = await stack.queue.status(titleId);
    expect(status).toMatchObject({ state: 'failed', attemptsMade: 2, attempts: 2 });

    // Uploading the file again retries the failed job (the flag is gone: ffmpeg works again).
    const again = await uploadMaster({ file: master, title: 'Will fail' }, deps);
    expect(again).toMatchObject({ titleId, enqueued: false });
    const retried = await stack.queue.waitUntilFinished(titleId, () => {});
    expect(retried.state, retried.failedReason).toBe('completed');
    expect(await stack.store.exists(`vod/${titleId}/master.m3u8`)).toBe(true);
  });

  it('does not retry a job whose master is gone: the reason says so', async () => {
    const deps = { store: stack.store, queue: async () => stack.queue, paths: stack.paths };
    const other = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'other.mp4'), durationS: 2, source: 'smptebars' }, stack.paths);
    await stack.worker?.pause();
    const { titleId } = await uploadMaster({ file: other }, deps);
    await fs.rm(stack.store.localPath(masterObjectKey(titleId, 'other.mp4')));
    stack.worker?.resume();
    const final = await stack.queue.waitUntilFinished(titleId, () => {}, { pollMs: 20 });
    expect(final).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(final.failedReason).toMatch(/master\.mp4 does not exist/);
  });

  it('keeps queued jobs across a redis-server restart (append-only file)', async () => {
    const dataDir = await makeTempDir();
    const config = { ...stack.config, dataDir };
    const redis = await ensureRedis(config);
    expect(redis.startedHere).toBe(true);
    const queue = new EncodeQueue(redis, config);
    await queue.enqueue({ titleId: '00000000000000aa', title: 'Persisted', masterKey: 'masters/x/master.mp4', masterFileName: 'x.mp4', ladder: 'fixed', uploadedAt: new Date().toISOString() });
    await queue.close();
    await redis.stopIfStartedHere();

    const again = await ensureRedis(config);
    expect(again.startedHere).toBe(true);
    const queue2 = new EncodeQueue(again, config);
    expect(await queue2.status('00000000000000aa')).toMatchObject({ state: 'waiting', title: 'Persisted' });
    await queue2.close();
    await again.stopIfStartedHere();
  });

  it('restarts the embedded Redis when it is killed, and the queue carries on with its jobs', async () => {
    const dataDir = await makeTempDir();
    const config = { ...stack.config, dataDir };
    const redis = await ensureRedis(config);
    const supervisor = superviseRedis(redis, config, undefined, 200);
    const queue = new EncodeQueue(redis, config);
    try {
      await queue.enqueue({ titleId: '00000000000000bb', title: 'Survivor', masterKey: 'masters/x/master.mp4', masterFileName: 'x.mp4', ladder: 'fixed', uploadedAt: new Date().toISOString() });
      await new Promise((r) => setTimeout(r, 1200)); // appendfsync everysec
      const pid = Number(await fs.readFile(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      await expect.poll(() => supervisor.restarts, { timeout: 15_000, interval: 100 }).toBe(1);
      // The same client (ioredis reconnects by itself) sees the job again.
      await expect.poll(async () => (await queue.status('00000000000000bb').catch(() => undefined))?.title, { timeout: 15_000, interval: 200 }).toBe('Survivor');
      expect(Number(await fs.readFile(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'))).not.toBe(pid);
    } finally {
      supervisor.stop();
      await queue.close();
      await shutdownRedis(redis.endpoint);
    }
  });

  it('leaves an embedded Redis that is up but refusing writes alone (one server, no restart), and vod upload says why', async () => {
    const dataDir = await makeTempDir();
    const config = { ...stack.config, dataDir };
    const redis = await ensureRedis(config);
    const supervisor = superviseRedis(redis, config, undefined, 200);
    const client = redis.createClient({ maxRetriesPerRequest: 1 });
    const pidFile = path.join(dataDir, 'redis', 'redis.pid');
    try {
      const pid = Number(await fs.readFile(pidFile, 'utf8'));
      await failSaves({ dir: path.join(dataDir, 'redis'), client });
      await expect(client.set('k', 'v')).rejects.toThrow(/^MISCONF/);
      expect(await pingRedis(redis.endpoint, 500)).toBeUndefined();
      await new Promise((r) => setTimeout(r, 1_000)); // five supervisor checks
      expect(supervisor.restarts).toBe(0);
      expect(Number(await fs.readFile(pidFile, 'utf8'))).toBe(pid);
      const up = await runCli(['--data-dir', dataDir, 'upload', master, '--no-wait']);
      expect(up.code, up.stderr).toBe(1);
      expect(up.stderr.trim()).toMatch(/^vod: Redis refused to store the job queue's data \(MISCONF .*\): it cannot write its data file to disk/);
    } finally {
      supervisor.stop();
      await fixSaves({ dir: path.join(dataDir, 'redis'), client }).catch(() => {});
      client.disconnect();
      await shutdownRedis(redis.endpoint);
    }
  });

  it('vod status shows a job and a published title through the CLI', async () => {
    const dataDir = await makeTempDir();
    const up = await runCli(['--data-dir', dataDir, 'upload', master, '--title', 'Queued only', '--no-wait']);
    expect(up.code, up.stderr).toBe(0);
    const id = /Title id:\s+([0-9a-f]{16})/.exec(up.stdout)?.[1];
    expect(id).toBeDefined();
    const st = await runCli(['--data-dir', dataDir, 'status', id!]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/Job state: waiting/);
    expect(st.stdout).toMatch(/Attempts:\s+0\/3/);
    const all = await runCli(['--data-dir', dataDir, 'status']);
    expect(all.stdout).toMatch(new RegExp(`${id}\\s+waiting`));
    const unknown = await runCli(['--data-dir', dataDir, 'status', 'ffffffffffffffff']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('vod: No upload or published title has the id ffffffffffffffff.');
    // The CLI started the embedded Redis for this data folder; stop it.
    await shutdownRedis((await ensureRedis({ ...stack.config, dataDir })).endpoint);
  });

  it('vod upload takes several files: queues the good ones, reports each refused one on its own line, exit 2', async () => {
    const dataDir = await makeTempDir();
    const notes = path.join(dataDir, '..', `notes-${path.basename(dataDir)}.mp4`);
    await fs.writeFile(notes, 'These are my notes, not a video.\n'.repeat(20));
    const titled = await runCli(['--data-dir', dataDir, 'upload', master, notes, '--title', 'One name', '--no-wait']);
    expect(titled.code).toBe(2);
    expect(titled.stderr.trim()).toBe('vod: --title names one title: give it with one file (several files take their file names).');
    const up = await runCli(['--data-dir', dataDir, 'upload', notes, master, '--no-wait']);
    expect(up.code).toBe(2);
    expect(up.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^vod: notes-.*\.mp4 is not a media file ffprobe can read \(.+\)\.$/), 'vod: 1 of 2 files refused (above); 1 queued.']);
    expect(up.stdout).toMatch(/^\[1\/2\] .*notes-.*\.mp4$/m);
    const id = /Title id:\s+([0-9a-f]{16})/.exec(up.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await runCli(['--data-dir', dataDir, 'status', id!])).stdout).toMatch(/Job state: waiting/);
    await shutdownRedis((await ensureRedis({ ...stack.config, dataDir })).endpoint);
    await fs.rm(notes, { force: true });
  });
});

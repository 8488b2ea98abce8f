/**
 * Many machines, for real: every part in its own network namespace with its own address, as
 * separate hosts would be — Redis and an S3 server (Ceph's RADOS Gateway) on a storage host, an
 * origin reading from S3, an edge in front of it, three workers with separate data folders and
 * nothing shared but `REDIS_URL` and `VOD_STORE_URL`, and a client host that uploads, watches
 * `vod status` and plays the title in Chromium through the edge. A multi-chunk title is encoded
 * by more than one worker; one worker is killed in the middle of a chunk, which another redoes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { resolveFfmpegPaths } from '../../src/encoder/ffmpeg.js';
import type { ChildJobStatus, EncodeJobStatus } from '../../src/ingest/encode-queue.js';
import { makeSyntheticMaster } from '../../fixtures/synthetic-master.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.js';
import { createNetnsLab, type NetnsLab } from '../helpers/netns-lab.js';
import { startRadosGateway, type RadosGateway } from '../helpers/rados-gateway.js';
import { VOD_BIN } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const HOSTS = ['store', 'origin', 'edge', 'w1', 'w2', 'w3', 'client'] as const;
const WORKERS = ['w1', 'w2', 'w3'] as const;
const BUCKET = 'vod-lab';

let lab: NetnsLab;
let gateway: RadosGateway;
let browser: Browser | undefined;
let logDir: string;
/** The environment every vod process gets: the queue and the store, nothing on disk in common. */
let env: NodeJS.ProcessEnv;
const workers = new Map<string, ChildProcess>();

/** Starts `vod <args>` on a lab host with its own data folder; its output goes to logDir/<name>.log. */
async function startVod(host: string, name: string, args: string[]): Promise<ChildProcess> {
  const dataDir = path.join(logDir, `data-${name}`);
  const out = await fs.open(path.join(logDir, `${name}.log`), 'a');
  const child = lab.spawn(host, process.execPath, [VOD_BIN, '--data-dir', dataDir, ...args], { env, stdio: ['ignore', out.fd, out.fd] });
  child.once('exit', () => void out.close().catch(() => {}));
  return child;
}

/** Waits until `url` answers from the client host. */
async function waitForHttp(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await lab.run('client', 'curl', ['-sf', '-o', '/dev/null', '--max-time', '1', url]).then(() => true, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within 30 s; logs in ${logDir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `vod status <title> --json`, run on the client host. */
async function status(titleId: string): Promise<{ job: EncodeJobStatus; children: ChildJobStatus[] }> {
  const { stdout } = await lab.run('client', process.execPath, [VOD_BIN, '--data-dir', path.join(logDir, 'data-client'), 'status', titleId, '--json'], { env });
  return JSON.parse(stdout) as { job: EncodeJobStatus; children: ChildJobStatus[] };
}

beforeAll(async () => {
  logDir = await makeTempDir();
  lab = await createNetnsLab(HOSTS);
  gateway = await startRadosGateway({ lab, host: 'store' });
  const a = lab.address;
  env = {
    ...process.env,
    LOG_LEVEL: 'info',
    REDIS_URL: `redis://${a.store}:6379`,
    VOD_STORE_URL: `s3://${BUCKET}/lab`,
    AWS_ENDPOINT_URL_S3: gateway.endpoint,
    AWS_REGION: gateway.region,
    AWS_ACCESS_KEY_ID: gateway.accessKeyId,
    AWS_SECRET_ACCESS_KEY: gateway.secretAccessKey,
    VOD_CHUNK_DURATION_S: '4',
    VOD_X264_PRESET: 'ultrafast',
    VOD_WORKER_LOCK_MS: '2000',
    VOD_STALLED_INTERVAL_MS: '1000',
    VOD_RETRY_BACKOFF_MS: '200',
  };
  const redisOut = await fs.open(path.join(logDir, 'redis.log'), 'a');
  lab
    .spawn('store', 'redis-server', ['--bind', a.store!, '--port', '6379', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', redisOut.fd, redisOut.fd] })
    .once('exit', () => void redisOut.close().catch(() => {}));
  // The bucket, made from the client host as an operator would (aws s3 mb).
  const mb = path.join(logDir, 'make-bucket.mjs');
  await fs.writeFile(
    mb,
    `import { S3Client, CreateBucketCommand } from ${JSON.stringify(path.resolve('node_modules/@aws-sdk/client-s3/dist-cjs/index.js'))};
await new S3Client({ endpoint: process.env.AWS_ENDPOINT_URL_S3, region: process.env.AWS_REGION, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: ${JSON.stringify(BUCKET)} }));`,
  );
  await lab.run('client', process.execPath, [mb], { env });

  await startVod('origin', 'origin', ['origin', '--host', a.origin!, '--port', '8080']);
  await startVod('edge', 'edge', ['edge', '--host', a.edge!, '--port', '8081', '--origin', `http://${a.origin}:8080`]);
  for (const w of WORKERS) workers.set(w, await startVod(w, w, ['worker', '--name', w]));
  await waitForHttp(`http://${a.origin}:8080/titles`);
  await waitForHttp(`http://${a.edge}:8081/healthz`);
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await gateway?.stop();
  await lab?.teardown();
});

describe('a title encoded across machines', () => {
  it('is split over the workers, survives one killed mid-chunk, and plays through the edge', async () => {
    const master = await makeSyntheticMaster({ path: path.join(logDir, 'lab.mp4'), durationS: 12, width: 960, height: 540 }, resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined }));
    const upload = await lab.run('client', process.execPath, [VOD_BIN, '--data-dir', path.join(logDir, 'data-client'), 'upload', master, '--title', 'Across machines', '--ladder', 'fixed', '--no-wait'], { env });
    const titleId = /\b([0-9a-f]{16})\b/.exec(upload.stdout)?.[1];
    expect(titleId, upload.stdout).toBeDefined();

    // Watch the children as a user would (`vod status --watch --json`: one report per line, a few
    // per second, so even a short chunk is seen while it runs); kill the first worker seen in the
    // middle of a chunk. A chunk can finish between the report and the kill, so the worker is
    // frozen first (SIGSTOP: it can no longer report anything) and killed only if a report taken
    // after the freeze shows its chunk unfinished; otherwise it is thawed and the watch goes on.
    const watcher = lab.spawn('client', process.execPath, [VOD_BIN, '--data-dir', path.join(logDir, 'data-client'), 'status', titleId!, '--json', '--watch', '0.2'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const reports = readline.createInterface({ input: watcher.stdout! })[Symbol.asyncIterator]();
    const nextReport = async (): Promise<{ at: string; job: EncodeJobStatus; children: ChildJobStatus[] } | undefined> => {
      const line = await reports.next();
      return line.done ? undefined : JSON.parse(line.value);
    };
    let victim: { worker: string; jobId: string } | undefined;
    try {
      for (let s = await nextReport(); s && !victim; s = await nextReport()) {
        const held = s.children.find((c) => c.kind === 'chunk' && c.state === 'active' && c.worker && (c.progress?.percent ?? 0) > 5);
        if (!held) continue;
        const proc = workers.get(held.worker!)!;
        const frozenAt = new Date().toISOString();
        proc.kill('SIGSTOP');
        let after = await nextReport();
        while (after && after.at < frozenAt) after = await nextReport();
        const again = after?.children.find((c) => c.jobId === held.jobId);
        // Frozen past the lock time, the chunk may already be waiting or redone elsewhere: that too
        // is a chunk lost mid-way. Only "completed by the frozen worker" means it finished first.
        if (again && !(again.state === 'completed' && again.worker === held.worker)) {
          victim = { worker: held.worker!, jobId: held.jobId };
          proc.kill('SIGKILL');
        } else proc.kill('SIGCONT');
      }
    } finally {
      watcher.kill();
    }
    expect(victim, 'a worker was seen holding a chunk').toBeDefined();

    let final: { job: EncodeJobStatus; children: ChildJobStatus[] } | undefined;
    await expect
      .poll(async () => {
        final = await status(titleId!);
        return final.job.state;
      }, { timeout: 180_000, interval: 500 })
      .toMatch(/^(completed|failed)$/);
    expect(final!.job.state, `${final!.job.failedReason}; logs in ${logDir}`).toBe('completed');
    const chunks = final!.children.filter((c) => c.kind === 'chunk');
    expect(chunks.length).toBe(3); // 3 chunks, each the whole 5-rung 960x540 fixed ladder
    expect(chunks.every((c) => c.state === 'completed')).toBe(true);
    // More than one machine did the work, and the killed worker's chunk was redone elsewhere.
    expect(new Set(chunks.map((c) => c.worker)).size).toBeGreaterThan(1);
    const redone = chunks.find((c) => c.jobId === victim!.jobId)!;
    expect(redone.worker).not.toBe(victim!.worker);
    expect(redone.attemptsStarted).toBeGreaterThanOrEqual(2);

    // Played in Chromium on the client host, through the edge, across both chunk borders.
    browser = await chromium.launch({ executablePath: await lab.wrapper('client', CHROMIUM_PATH), headless: true, args: [...CHROMIUM_ARGS] });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`http://${lab.address.edge}:8081/player/?title=${titleId}`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 9, undefined, { timeout: 90_000 });
    const player = await page.evaluate(() => (window as unknown as { vodPlayer: { errors: { fatal: boolean }[]; fatalError: string | null } }).vodPlayer);
    expect(player.errors.filter((e) => e.fatal)).toEqual([]);
    expect(player.fatalError).toBeNull();
    expect(errors).toEqual([]);
    // The edge filled what it served from the origin host over the lab's network.
    const metrics = await lab.run('client', 'curl', ['-s', `http://${lab.address.edge}:8081/metrics`]);
    expect(Number(/^vod_edge_bytes_filled_total (\d+)/m.exec(metrics.stdout)?.[1] ?? 0)).toBeGreaterThan(0);
  });
});

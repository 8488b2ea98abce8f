/**
 * Chaos run, the way Netflix runs Chaos Monkey, on one machine and loopback only: the real
 * `vod` processes (worker with the embedded Redis, origin, two edges, the steering service)
 * serve players in headless Chromium that watch titles through the steering service while
 * more uploads encode; a seeded scheduler injects faults — kills and restarts the origin, an
 * edge, the worker and Redis, slows the upstream of both edges, breaks an edge's disk tier —
 * and the run records what happened and checks what must hold:
 *
 * - every upload is published, whole (every playlist's segments exist), none half-published;
 * - every encode job ends completed;
 * - no player ends in a fatal error, each is playing at the end, stall time stays bounded;
 * - an object cached on the edge that is never killed is served throughout (origin down included);
 * - every restarted process answers again within RECOVERY_LIMIT_S.
 *
 * `npm run chaos` runs it for CHAOS_SECONDS (default 120) and writes bench/results/chaos.json and
 * chaos.md; test/chaos/chaos.test.ts runs a short version in `npm test`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import HLS from 'hls-parser';
import { loadConfig, redisDir, storeDir } from '../../src/config.js';
import { resolveFfmpegPaths } from '../../src/encoder/ffmpeg.js';
import { EncodeQueue } from '../../src/ingest/encode-queue.js';
import { ensureRedis, pingRedis } from '../../src/ingest/redis-server.js';
import { uploadMaster } from '../../src/ingest/upload.js';
import { FsObjectStore } from '../../src/origin/fs-object-store.js';
import { makeSyntheticMaster } from '../../fixtures/synthetic-master.js';
import { launchChromium } from '../helpers/browser.js';
import { VOD_BIN } from '../helpers/run-cli.js';
import { freePort } from '../helpers/free-port.js';

/** A restarted process must answer again within this long, s. */
export const RECOVERY_LIMIT_S = 20;
/** Largest share of a player's wall time it may spend stalled (rebuffering) during a run. */
export const MAX_STALL_RATIO = 0.35;

export type FaultKind = 'kill-origin' | 'kill-edge' | 'kill-worker' | 'kill-redis' | 'slow-upstream' | 'break-disk';
const FAULTS: readonly FaultKind[] = ['kill-origin', 'kill-edge', 'kill-worker', 'kill-redis', 'slow-upstream', 'break-disk'];

export interface ChaosOptions {
  /** Length of the fault phase, s. */
  readonly durationS: number;
  /** PRNG seed of the fault schedule. */
  readonly seed: number;
  /** Mean time between faults, s. */
  readonly faultEveryS: number;
  /** Players in headless Chromium. */
  readonly players: number;
  /** Progress lines (stderr in the script). */
  readonly log?: (line: string) => void;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  /** Seconds into the fault phase. */
  readonly atS: number;
  /** How long the part was down or degraded, s. */
  readonly downS: number;
  /** From the restart (or the end of the degradation) to answering again, s. */
  readonly recoveryS: number;
}

export interface ChaosReport {
  readonly generatedAt: string;
  readonly options: Omit<ChaosOptions, 'log'>;
  readonly faults: FaultRecord[];
  readonly titles: { titleId: string; state: string; published: boolean; complete: boolean }[];
  readonly players: { titleId: string; primaryEdge: 'A (killed)' | 'B'; fatalError: string | null; playing: boolean; stallS: number; wallS: number; stallRatio: number; rebuffers: number }[];
  readonly cachedProbe: { requests: number; failures: number };
  readonly failures: string[];
}

interface VodProcess {
  readonly name: string;
  child: ChildProcess | undefined;
  start(): void;
  kill(): Promise<void>;
  /** Resolves when the process answers (HTTP /healthz, or the worker's 'worker ready' line). */
  healthy(timeoutMs: number): Promise<boolean>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(intervalMs);
  }
  return false;
}

const httpOk = (url: string) => async () => {
  const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await r.body?.cancel();
  return r.ok;
};

/** One `vod` child process (the real CLI, as an operator runs it). */
function vodProcess(name: string, args: string[], env: NodeJS.ProcessEnv, healthUrl: string | undefined): VodProcess {
  let readyLine = false;
  const proc: VodProcess = {
    name,
    child: undefined,
    start() {
      readyLine = false;
      const child = spawn(process.execPath, [VOD_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        if (d.includes('worker ready')) readyLine = true;
      });
      proc.child = child;
    },
    async kill() {
      const child = proc.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    healthy: (timeoutMs) => waitUntil(healthUrl ? httpOk(healthUrl) : async () => readyLine, timeoutMs),
  };
  return proc;
}

/** A TCP proxy between the edges and the origin whose added latency the run can turn up. */
async function slowableProxy(targetPort: number): Promise<{ port: number; delayMs: number; close(): Promise<void> }> {
  const state = { delayMs: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    const relay = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (state.delayMs === 0) to.write(chunk);
        else {
          from.pause();
          setTimeout(() => {
            to.write(chunk);
            from.resume();
          }, state.delayMs);
        }
      });
    relay(client, upstream);
    relay(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A seeded Fisher–Yates shuffle. */
function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Whether a published title is whole: its multivariant playlist, every media playlist and every segment and init segment it names. */
async function titleIsComplete(store: FsObjectStore, titleId: string): Promise<boolean> {
  const master = await store.get(`vod/${titleId}/master.m3u8`);
  if (!master || !(await store.exists(`vod/${titleId}/title.json`))) return false;
  const parsed = HLS.parse(master.toString('utf8'));
  if (!parsed.isMasterPlaylist) return false;
  const uris = new Set<string>();
  for (const v of parsed.variants) {
    uris.add(v.uri);
    for (const a of v.audio) if (a.uri) uris.add(a.uri);
  }
  for (const uri of uris) {
    const media = await store.get(`vod/${titleId}/${uri}`);
    if (!media) return false;
    const playlist = HLS.parse(media.toString('utf8'));
    if (playlist.isMasterPlaylist) return false;
    const dir = path.posix.dirname(uri);
    for (const seg of playlist.segments) {
      if (!(await store.exists(`vod/${titleId}/${dir}/${seg.uri}`))) return false;
      if (seg.map?.uri && !(await store.exists(`vod/${titleId}/${dir}/${seg.map.uri}`))) return false;
    }
  }
  return true;
}

/**
 * Runs the stack, the players and the fault schedule, then checks the outcomes.
 * @returns the report; `failures` lists every check that did not hold (empty = passed).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const rng = xoroshiro128plus(options.seed);
  const rand = () => uniformFloat64(rng);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-chaos-'));
  const dataDir = path.join(work, 'data');
  const env = { VOD_DATA_DIR: dataDir, VOD_X264_PRESET: 'ultrafast', VOD_WORKER_LOCK_MS: '3000', VOD_STALLED_INTERVAL_MS: '1000', VOD_RETRY_BACKOFF_MS: '500', VOD_JOB_ATTEMPTS: '20', LOG_LEVEL: 'info' };
  const config = loadConfig(env);
  const paths = resolveFfmpegPaths(config);
  const store = new FsObjectStore(storeDir(config));
  const failures: string[] = [];
  const faults: FaultRecord[] = [];
  const processes: VodProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  try {
    // Masters: different content, so different title ids; short, so encodes finish during the run.
    const masters: string[] = [];
    for (let i = 0; i < 4; i++) {
      masters.push(await makeSyntheticMaster({ path: path.join(work, `master-${i}.mp4`), durationS: 12 + i * 2, width: 640, height: 360, source: i % 2 === 0 ? 'testsrc2' : 'mandelbrot' }, paths));
    }

    const [originPort, edgeAPort, edgeBPort, steerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const worker = vodProcess('worker', ['worker'], env, undefined);
    processes.push(worker);
    worker.start();
    if (!(await worker.healthy(30_000))) throw new Error('the worker did not start');
    const redis = await ensureRedis(config);
    const queue = new EncodeQueue(redis, config);
    cleanups.push(() => queue.close());

    const origin = vodProcess('origin', ['origin', '--port', String(originPort)], env, `http://127.0.0.1:${originPort}/healthz`);
    processes.push(origin);
    origin.start();
    const proxy = await slowableProxy(originPort);
    cleanups.push(() => proxy.close());
    const upstream = `http://127.0.0.1:${proxy.port}`;
    const diskDir = path.join(work, 'edge-b-disk');
    const edgeA = vodProcess('edge-a', ['edge', '--origin', upstream, '--port', String(edgeAPort), '--name', 'edge-a', '--fill-timeout', '4000'], env, `http://127.0.0.1:${edgeAPort}/healthz`);
    const edgeB = vodProcess('edge-b', ['edge', '--origin', upstream, '--port', String(edgeBPort), '--name', 'edge-b', '--fill-timeout', '4000', '--disk-cache', diskDir, '--disk-bytes', '256MB'], env, `http://127.0.0.1:${edgeBPort}/healthz`);
    const edges = [`http://127.0.0.1:${edgeAPort}`, `http://127.0.0.1:${edgeBPort}`];
    const steer = vodProcess('steer', ['steer', '--edges', edges.join(','), '--port', String(steerPort), '--replicas', '1', '--health-interval', '500'], env, `http://127.0.0.1:${steerPort}/healthz`);
    for (const p of [edgeA, edgeB, steer]) {
      processes.push(p);
      p.start();
    }
    for (const p of [origin, edgeA, edgeB, steer]) if (!(await p.healthy(30_000))) throw new Error(`${p.name} did not start`);

    // Two titles published before the faults begin; two more uploaded as they begin.
    const titleIds: string[] = [];
    const upload = async (file: string) => {
      const r = await uploadMaster({ file, title: path.basename(file), ladder: 'fixed' }, { store, queue: async () => queue, paths });
      titleIds.push(r.titleId);
      return r.titleId;
    };
    for (const m of masters.slice(0, 2)) await upload(m);
    log(`encoding the first two titles (${titleIds.join(', ')})…`);
    for (const id of titleIds) {
      const final = await queue.waitUntilFinished(id, () => {});
      if (final.state !== 'completed') throw new Error(`the first encode of ${id} failed: ${final.failedReason}`);
    }

    // An object cached on edge B, which is never killed: it must be served throughout.
    const cachedUrl = `${edges[1]}/vod/${titleIds[0]}/master.m3u8`;
    await (await fetch(cachedUrl)).arrayBuffer();
    const probe = { requests: 0, failures: 0, stop: false };
    const probing = (async () => {
      while (!probe.stop) {
        probe.requests++;
        try {
          const r = await fetch(cachedUrl, { signal: AbortSignal.timeout(2000) });
          await r.arrayBuffer();
          if (r.status !== 200) probe.failures++;
        } catch {
          probe.failures++;
        }
        await sleep(250);
      }
    })();

    // Players: the page from edge B, the playlist from the steering service (one pathway per
    // edge). Titles whose primary edge is A — the edge that gets killed — are watched first.
    const primaryOf = async (titleId: string) => {
      const r = (await (await fetch(`http://127.0.0.1:${steerPort}/play/${titleId}`)).json()) as { edges: { url: string }[] };
      return r.edges[0]?.url;
    };
    const watched = [...titleIds];
    const onA = await Promise.all(watched.map(async (id) => (await primaryOf(id)) === edges[0]));
    watched.sort((a, b) => Number(onA[titleIds.indexOf(b)]) - Number(onA[titleIds.indexOf(a)]));
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const pages = [];
    for (let i = 0; i < options.players; i++) {
      const titleId = watched[i % watched.length]!;
      const page = await browser.newPage();
      const src = encodeURIComponent(`http://127.0.0.1:${steerPort}/play/${titleId}/master.m3u8`);
      await page.goto(`${edges[1]}/player/?title=${titleId}&src=${src}&loop=1&maxBufferLength=10`);
      pages.push({ page, titleId, startedMs: Date.now(), primaryEdge: onA[titleIds.indexOf(titleId)] ? ('A (killed)' as const) : ('B' as const) });
    }

    for (const m of masters.slice(2)) await upload(m);
    log(`fault phase: ${options.durationS} s, a fault every ~${options.faultEveryS} s`);
    const started = Date.now();
    const elapsedS = () => (Date.now() - started) / 1000;
    const order: FaultKind[] = [];
    while (elapsedS() < options.durationS) {
      await sleep(options.faultEveryS * 1000 * (0.5 + rand()));
      if (elapsedS() >= options.durationS) break;
      // Every kind in turn, in a seeded order, so even a short run injects each of them.
      if (order.length === 0) order.push(...shuffled(FAULTS, rand));
      const kind = order.shift()!;
      const downMs = 1000 + Math.floor(rand() * 3000);
      const atS = elapsedS();
      let recoveryS = 0;
      if (kind === 'slow-upstream') {
        proxy.delayMs = 300;
        await sleep(downMs);
        proxy.delayMs = 0;
      } else if (kind === 'break-disk') {
        // A disk whose writes fail (as when it is full): the tier's tmp folder becomes a file.
        const tmp = path.join(diskDir, 'tmp');
        await fs.rm(tmp, { recursive: true, force: true });
        await fs.writeFile(tmp, 'disk full');
        await sleep(downMs);
        await fs.rm(tmp, { force: true });
        await fs.mkdir(tmp, { recursive: true });
      } else if (kind === 'kill-redis') {
        const pid = Number(await fs.readFile(path.join(redisDir(config), 'redis.pid'), 'utf8').catch(() => '0'));
        if (pid > 0) process.kill(pid, 'SIGKILL');
        const t = Date.now();
        // The worker supervises the embedded Redis: no one else restarts it.
        const back = await waitUntil(async () => (await pingRedis(redis.endpoint, 300)) === undefined, RECOVERY_LIMIT_S * 1000, 100);
        recoveryS = (Date.now() - t) / 1000;
        if (!back) failures.push(`Redis was not back within ${RECOVERY_LIMIT_S} s after a kill`);
      } else {
        const target = kind === 'kill-origin' ? origin : kind === 'kill-edge' ? edgeA : worker;
        await target.kill();
        await sleep(downMs);
        const t = Date.now();
        target.start();
        const back = await target.healthy(RECOVERY_LIMIT_S * 1000);
        recoveryS = (Date.now() - t) / 1000;
        if (!back) failures.push(`${target.name} was not back within ${RECOVERY_LIMIT_S} s of its restart`);
      }
      faults.push({ kind, atS: Number(atS.toFixed(1)), downS: kind === 'kill-redis' ? Number(recoveryS.toFixed(2)) : downMs / 1000, recoveryS: Number(recoveryS.toFixed(2)) });
      log(`${atS.toFixed(1)} s: ${kind} (down ${(downMs / 1000).toFixed(1)} s, back in ${recoveryS.toFixed(2)} s)`);
    }

    // Settle: every job must end, then the players get a few seconds to prove they still play.
    log('fault phase over; waiting for every encode to finish…');
    const titles: ChaosReport['titles'] = [];
    for (const titleId of titleIds) {
      const final = await Promise.race([queue.waitUntilFinished(titleId, () => {}), sleep(180_000).then(() => undefined)]);
      const published = await store.exists(`vod/${titleId}/master.m3u8`);
      const complete = published && (await titleIsComplete(store, titleId));
      titles.push({ titleId, state: final?.state ?? 'timed out', published, complete });
      if (final?.state !== 'completed') failures.push(`the encode of ${titleId} ended ${final?.state ?? 'not at all'}${final?.failedReason ? `: ${final.failedReason}` : ''}`);
      if (!complete) failures.push(`title ${titleId} is not published whole`);
    }
    const staging = (await fs.readdir(path.join(storeDir(config), '.staging')).catch(() => [] as string[])).filter((n) => titleIds.some((id) => n.startsWith(`vod_${id}.`)));
    if (staging.length > 0) failures.push(`staging folders left behind: ${staging.join(', ')}`);

    const players: ChaosReport['players'] = [];
    for (const { page, titleId, startedMs, primaryEdge } of pages) {
      const t0 = await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime);
      await sleep(5000);
      const s = await page.evaluate(() => {
        const p = (window as unknown as { vodPlayer: { fatalError: string | null; rebuffers: { durationMs: number }[] } }).vodPlayer;
        const v = document.querySelector('video') as HTMLVideoElement;
        return { fatalError: p.fatalError, currentTime: v.currentTime, paused: v.paused, stallMs: p.rebuffers.reduce((a, r) => a + r.durationMs, 0), rebuffers: p.rebuffers.length };
      });
      const wallS = (Date.now() - startedMs) / 1000;
      // Looping titles restart at 0: progress is any change of position while not paused.
      const playing = !s.paused && s.currentTime !== t0;
      const stallRatio = s.stallMs / 1000 / wallS;
      players.push({ titleId, primaryEdge, fatalError: s.fatalError, playing, stallS: s.stallMs / 1000, wallS: Number(wallS.toFixed(1)), stallRatio: Number(stallRatio.toFixed(3)), rebuffers: s.rebuffers });
      if (s.fatalError) failures.push(`a player of ${titleId} ended in a fatal error (${s.fatalError})`);
      if (!playing) failures.push(`a player of ${titleId} is not playing at the end`);
      if (stallRatio > MAX_STALL_RATIO) failures.push(`a player of ${titleId} stalled ${(stallRatio * 100).toFixed(0)}% of the time (bound ${MAX_STALL_RATIO * 100}%)`);
    }
    probe.stop = true;
    await probing;
    if (probe.failures > 0) failures.push(`the object cached on edge B failed ${probe.failures} of ${probe.requests} requests`);

    return { generatedAt: new Date().toISOString(), options: { durationS: options.durationS, seed: options.seed, faultEveryS: options.faultEveryS, players: options.players }, faults, titles, players, cachedProbe: { requests: probe.requests, failures: probe.failures }, failures };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    for (const p of processes.reverse()) await p.kill().catch(() => {});
    // The embedded Redis outlives the worker that supervised it: stop it (its pid file says where).
    const pid = Number(await fs.readFile(path.join(redisDir(config), 'redis.pid'), 'utf8').catch(() => '0'));
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    await fs.rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

/** The report as a Markdown table of faults and outcomes. */
export function formatChaosReport(r: ChaosReport): string {
  const lines = [
    `# Chaos run (${r.generatedAt})`,
    '',
    `${r.options.durationS} s of faults, one every ~${r.options.faultEveryS} s (seed ${r.options.seed}), ${r.options.players} players in Chromium through \`vod steer\` and two edges, ${r.titles.length} titles (2 uploaded as the faults began).`,
    '',
    '| at s | fault | down s | back in s |',
    '| ---: | --- | ---: | ---: |',
    ...r.faults.map((f) => `| ${f.atS} | ${f.kind} | ${f.downS} | ${f.recoveryS} |`),
    '',
    '| title | job | published whole |',
    '| --- | --- | --- |',
    ...r.titles.map((t) => `| ${t.titleId} | ${t.state} | ${t.complete ? 'yes' : 'NO'} |`),
    '',
    '| player of | primary edge | fatal error | playing at end | stalled s | of wall s | rebuffers |',
    '| --- | --- | --- | --- | ---: | ---: | ---: |',
    ...r.players.map((p) => `| ${p.titleId} | ${p.primaryEdge} | ${p.fatalError ?? 'none'} | ${p.playing ? 'yes' : 'NO'} | ${p.stallS.toFixed(1)} | ${p.wallS} | ${p.rebuffers} |`),
    '',
    `Object cached on edge B: ${r.cachedProbe.requests - r.cachedProbe.failures} of ${r.cachedProbe.requests} requests served.`,
    '',
    r.failures.length === 0 ? '**Every check held.**' : `**Failed checks:**\n${r.failures.map((f) => `- ${f}`).join('\n')}`,
    '',
  ];
  return lines.join('\n');
}

/**
 * The seeded HTTP fuzzer (test/helpers/http-fuzzer.ts) against a real origin and an edge in
 * front of it, for a bounded number of requests (FUZZ_REQUESTS, default 3000 each; `npm run
 * fuzz` runs more). Asserts: no 5xx but 502/503/504, no stack trace or server path in any
 * answer, no byte of a file outside the store, open file handles back to where they were.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startEdgeServer, type EdgeServer } from '../../src/edge-cache/edge-server.js';
import type { RunningServer } from '../../src/http/listen.js';
import { FsObjectStore } from '../../src/origin/fs-object-store.js';
import { startOriginServer } from '../../src/origin/origin-server.js';
import { fuzzHttp } from '../helpers/http-fuzzer.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const TITLE = '0123456789abcdef';
/** A file beside the store that no answer may ever contain. */
const SECRET = 'canary-7f3a9c-outside-the-store';
const PATHS = [`/vod/${TITLE}/master.m3u8`, `/vod/${TITLE}/video_360p_365k/index.m3u8`, `/vod/${TITLE}/video_360p_365k/seg_00000.m4s`, `/vod/${TITLE}/title.json`];
let origin: RunningServer;
let edge: RunningServer & { edge: EdgeServer };

beforeAll(async () => {
  const root = await makeTempDir();
  await fsp.writeFile(path.join(root, 'secret.txt'), SECRET);
  const store = new FsObjectStore(path.join(root, 'store'));
  const staging = await store.stage(`vod/${TITLE}`);
  await fsp.mkdir(path.join(staging.dir, 'video_360p_365k'));
  await fsp.writeFile(path.join(staging.dir, 'master.m3u8'), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000\nvideo_360p_365k/index.m3u8\n');
  await fsp.writeFile(path.join(staging.dir, 'video_360p_365k', 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg_00000.m4s\n#EXT-X-ENDLIST\n');
  await fsp.writeFile(path.join(staging.dir, 'video_360p_365k', 'seg_00000.m4s'), Buffer.alloc(200_000, 0x5a));
  await fsp.writeFile(path.join(staging.dir, 'title.json'), '{}');
  await staging.commit();
  origin = await startOriginServer({ store, host: '127.0.0.1', port: 0 });
  const { playerDir } = loadConfig({});
  edge = await startEdgeServer({ originUrl: origin.url, cacheBytes: 8 << 20, signingKey: 'a-signing-key-of-32-characters!!', playerDir, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
});

const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe(`HTTP fuzzing (${REQUESTS} requests per server, seed ${SEED})`, () => {
  for (const which of ['origin', 'edge'] as const) {
    it(`leaves the ${which} answering sanely, leaking nothing`, async () => {
      const server = which === 'origin' ? origin : edge;
      const fdsBefore = openFds();
      const result = await fuzzHttp({ url: server.url, paths: PATHS }, REQUESTS, SEED + (which === 'edge' ? 1 : 0));
      const statuses = Object.fromEntries([...result.statuses].sort((a, b) => a[0] - b[0]));
      expect(result.requests).toBeGreaterThanOrEqual(REQUESTS);
      const bad = Object.keys(statuses).map(Number).filter((s) => s >= 500 && ![502, 503, 504].includes(s));
      expect(bad, JSON.stringify(statuses)).toEqual([]);
      expect(result.leaks.slice(0, 3)).toEqual([]);
      expect(result.received.some((b) => b.includes(SECRET))).toBe(false);
      // Some answers of every kind came back (the fuzzer reached the server's logic).
      expect(statuses[200] ?? 0).toBeGreaterThan(0);
      expect(statuses[400] ?? 0).toBeGreaterThan(0);
      // Still healthy, and every file handle the run opened is closed again.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      await expect.poll(openFds, { timeout: 10_000, interval: 200 }).toBeLessThanOrEqual(fdsBefore + 5);
    });
  }
});

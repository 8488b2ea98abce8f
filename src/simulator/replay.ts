/**
 * Live replay: drives a running `vod edge` with a trace over HTTP and reads the hit ratio
 * from the edge's own Prometheus metrics, so it can be set beside the simulator's figure for
 * the same policy, size and trace. The edge fills from a synthetic origin that answers
 * `/vod/bench/<id>.m4s?size=N` with N bytes; the size travels in the query string, which the
 * edge passes upstream but leaves out of its cache key (one object per id, as in the trace).
 */
import http from 'node:http';
import { listen, type RunningServer } from '../http/listen.js';
import { IMMUTABLE_CACHE_CONTROL } from '../http/http-object.js';
import type { Trace } from './trace.js';

/** Largest synthetic body the bench origin serves, bytes. */
export const MAX_SYNTHETIC_BYTES = 256 * 1024 * 1024;
const ZEROES = Buffer.alloc(1 << 20);

/** Starts the synthetic origin for replays (loopback only by default). */
export function startSyntheticOrigin(host = '127.0.0.1', port = 0): Promise<RunningServer> {
  return listen(
    (req: http.IncomingMessage, res: http.ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const size = Number(url.searchParams.get('size'));
      if (!url.pathname.startsWith('/vod/bench/') || !Number.isInteger(size) || size < 1 || size > MAX_SYNTHETIC_BYTES) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': size, 'Cache-Control': IMMUTABLE_CACHE_CONTROL, ETag: `"${url.pathname.length}-${size}"` });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      let left = size;
      const write = () => {
        while (left > 0) {
          const n = Math.min(left, ZEROES.length);
          left -= n;
          if (!res.write(n === ZEROES.length ? ZEROES : ZEROES.subarray(0, n))) {
            res.once('drain', write);
            return;
          }
        }
        res.end();
      };
      write();
    },
    host,
    port,
  );
}

/** Path of trace request i on the edge: the dense object id names the object, the size rides in the query. */
export function replayPath(trace: Trace, i: number): string {
  return `/vod/bench/o${trace.ids[i]}.m4s?size=${trace.sizes[i]}`;
}

export interface EdgeCounters {
  readonly hits: number;
  readonly misses: number;
  readonly bytesServed: number;
  readonly bytesFilled: number;
}

/** Reads the edge's cache counters from its /metrics. */
export async function readEdgeCounters(edgeUrl: string): Promise<EdgeCounters> {
  const text = await (await fetch(`${edgeUrl}/metrics`)).text();
  const value = (name: string) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').filter((l) => l.startsWith(`${name} `)).join('\n'))?.[2] ?? Number.NaN);
  return {
    hits: value('vod_edge_cache_hits_total'),
    misses: value('vod_edge_cache_misses_total'),
    bytesServed: value('vod_edge_bytes_served_total'),
    bytesFilled: value('vod_edge_bytes_filled_total'),
  };
}

export interface ReplayOptions {
  readonly edgeUrl: string;
  readonly trace: Trace;
  /** Requests per second at most. */
  readonly ratePerS: number;
  /** Stop after this many seconds. */
  readonly maxSeconds: number;
  /** Replay only the first N requests (default all). */
  readonly maxRequests?: number;
  /** Requests in flight at once (1 keeps the trace's order exactly). Default 1. */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ReplayResult {
  /** Requests sent (a prefix of the trace). */
  readonly requests: number;
  readonly errors: number;
  /** From the edge's metrics: hits / (hits + misses) during the replay. */
  readonly hitRatio: number;
  readonly hits: number;
  readonly misses: number;
  /** 1 − bytes filled / bytes served during the replay. */
  readonly originOffload: number;
  readonly elapsedS: number;
  readonly stoppedBy: 'end' | 'time';
}

/**
 * Replays a trace prefix against an edge, bounded in rate and time.
 * @throws Error when the edge cannot be reached.
 */
export async function replayTrace(options: ReplayOptions): Promise<ReplayResult> {
  const total = Math.min(options.trace.requests, options.maxRequests ?? Number.POSITIVE_INFINITY);
  const before = await readEdgeCounters(options.edgeUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency ?? 1 });
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  const intervalMs = 1000 / options.ratePerS;
  let next = 0;
  let errors = 0;
  let stoppedBy: 'end' | 'time' = 'end';
  const get = (path: string) =>
    new Promise<void>((resolve) => {
      const req = http.get(options.edgeUrl + path, { agent }, (res) => {
        if (res.statusCode !== 200) errors++;
        res.resume();
        res.on('end', resolve);
        res.on('error', () => {
          errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const now = performance.now();
      if (now > deadline) {
        stoppedBy = 'time';
        next = total;
        return;
      }
      const due = started + i * intervalMs;
      if (due > now) await new Promise((r) => setTimeout(r, due - now));
      await get(replayPath(options.trace, i));
      if ((i & 0xff) === 0) options.onProgress?.(i, total);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  agent.destroy();
  options.onProgress?.(Math.min(next, total), total);
  const after = await readEdgeCounters(options.edgeUrl);
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  const served = after.bytesServed - before.bytesServed;
  const filled = after.bytesFilled - before.bytesFilled;
  return {
    requests: hits + misses,
    errors,
    hits,
    misses,
    hitRatio: hits + misses > 0 ? hits / (hits + misses) : 0,
    originOffload: served > 0 ? 1 - filled / served : 0,
    elapsedS: (performance.now() - started) / 1000,
    stoppedBy,
  };
}

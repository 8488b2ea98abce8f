/**
 * The upstreams an edge fills from — parent edges in order, then the origin — each behind a
 * circuit breaker. A fill tries them in order, skipping open breakers and failing over on
 * connection errors, timeouts and 5xx; a 404 (or other 4xx) is an answer, not a failure.
 * Only these configured hosts are ever contacted: request paths are appended to their base
 * URLs, never taken as URLs (no open proxy).
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker.js';

export interface UpstreamTarget {
  /** Short name for headers and metrics: host:port. */
  readonly name: string;
  readonly baseUrl: string;
  readonly breaker: CircuitBreaker;
}

/** Response headers an edge keeps from a fill. */
export interface FillHeaders {
  readonly contentType: string | undefined;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly cacheControl: string;
  readonly via: string | undefined;
  /** The upstream's own X-Cache answer (a parent edge's HIT/MISS), if any. */
  readonly upstreamCache: string | undefined;
  readonly contentLength: number | undefined;
}

/**
 * One upstream body in progress: it arrives in chunks that any number of clients can follow
 * (request coalescing that streams to the first client while the bytes arrive). Storing the
 * object is the fill coalescer's step (fill-coalescer.ts), not this stream's.
 * Events: 'data' (chunk), 'end', 'error' (err).
 */
export class StreamingFill extends EventEmitter {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  done = false;
  error: Error | undefined;

  constructor(
    readonly headers: FillHeaders,
    readonly source: UpstreamTarget,
  ) {
    super();
    this.setMaxListeners(0);
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.emit('data', chunk);
  }

  finish(): void {
    this.done = true;
    this.emit('end');
  }

  fail(err: Error): void {
    if (this.done || this.error) return;
    this.error = err;
    // Only emit when someone listens: an unheard 'error' would throw.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /**
   * Calls `onEnd` or `onError` once the body is complete or broken — at once if that has
   * already happened. (A small body can end before a promise continuation runs: the parser
   * emits it through process.nextTick, which runs ahead of promise jobs.)
   */
  settled(onEnd: () => void, onError: (err: Error) => void): void {
    if (this.done) onEnd();
    else if (this.error) onError(this.error);
    else {
      const end = () => {
        this.off('error', err);
        onEnd();
      };
      const err = (e: Error) => {
        this.off('end', end);
        onError(e);
      };
      this.once('end', end);
      this.once('error', err);
    }
  }

  /** The whole body (after 'end'). */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
  }
}

export type UpstreamAnswer =
  | { readonly kind: 'body'; readonly fill: StreamingFill }
  | { readonly kind: 'status'; readonly status: number; readonly reason: string; readonly source?: UpstreamTarget };

export interface UpstreamPoolOptions {
  /** Time allowed for headers, and for each gap between body chunks, ms. Default 15000. */
  readonly fillTimeoutMs?: number;
  /** Breaker settings of every upstream (its clock included: tests inject one). */
  readonly breaker?: CircuitBreakerOptions;
  /** This edge's name, sent in Via (RFC 9110 §7.6.3) so loops are visible. */
  readonly viaName: () => string;
}

export class UpstreamPool {
  readonly targets: readonly UpstreamTarget[];
  private readonly fillTimeoutMs: number;
  private readonly viaName: () => string;
  private readonly agents = { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) };

  /** @throws TypeError when a URL is not http(s). */
  constructor(urls: readonly string[], options: UpstreamPoolOptions) {
    if (urls.length === 0) throw new TypeError('an edge needs at least one upstream (--origin or --parent)');
    this.targets = urls.map((u) => {
      const url = new URL(u);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`upstream must be an http(s) URL, got ${u}`);
      return { name: url.host, baseUrl: url.toString().replace(/\/+$/, ''), breaker: new CircuitBreaker(options.breaker) };
    });
    this.fillTimeoutMs = options.fillTimeoutMs ?? 15_000;
    this.viaName = options.viaName;
  }

  /** Breaker state per upstream. */
  states(): { name: string; state: BreakerState }[] {
    return this.targets.map((t) => ({ name: t.name, state: t.breaker.current }));
  }

  /**
   * Fetches `path` (path and query) from the first upstream that answers.
   * @returns a streaming body for a 200; a status for 4xx answers; 502/504 when every upstream
   *          failed or was skipped by its open breaker.
   */
  async fetch(path: string): Promise<UpstreamAnswer> {
    // Only origin-form paths are appended to an upstream's base URL ('//host' would name another host).
    if (!path.startsWith('/') || path.startsWith('//')) return { kind: 'status', status: 400, reason: 'invalid upstream path' };
    let last: UpstreamAnswer = { kind: 'status', status: 502, reason: 'no upstream available (circuit breakers open)' };
    for (const target of this.targets) {
      if (!target.breaker.allow()) continue;
      const answer = await this.tryOne(target, path);
      if (answer.kind === 'body' || answer.status < 500) return answer;
      last = answer;
    }
    return last;
  }

  private tryOne(target: UpstreamTarget, path: string): Promise<UpstreamAnswer> {
    const url = target.baseUrl + path;
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (a: UpstreamAnswer) => {
        if (!settled) {
          settled = true;
          resolve(a);
        }
      };
      const req = mod.get(url, { agent: url.startsWith('https:') ? this.agents.https : this.agents.http, headers: { via: `1.1 ${this.viaName()}` } }, (res) => {
        const status = res.statusCode ?? 502;
        if (status !== 200) {
          if (status >= 500) {
            res.resume();
            target.breaker.failure();
            settle({ kind: 'status', status: 502, reason: `upstream ${target.name} answered ${status}`, source: target });
            return;
          }
          target.breaker.success();
          // A 4xx is passed on with the upstream's own reason (a removed title's 410 says when).
          void errorOfAnswer(res).then((error) => settle({ kind: 'status', status, reason: `upstream ${target.name} answered ${status}${error ? `: ${error}` : ''}`, source: target }));
          return;
        }
        target.breaker.success();
        const len = Number(res.headers['content-length']);
        const fill = new StreamingFill(
          {
            contentType: res.headers['content-type'],
            etag: res.headers.etag,
            lastModified: res.headers['last-modified'],
            cacheControl: res.headers['cache-control'] ?? '',
            via: res.headers.via,
            upstreamCache: typeof res.headers['x-cache'] === 'string' ? res.headers['x-cache'] : undefined,
            contentLength: Number.isFinite(len) ? len : undefined,
          },
          target,
        );
        settle({ kind: 'body', fill });
        res.on('data', (c: Buffer) => fill.push(c));
        res.on('end', () => {
          if (res.complete && (fill.headers.contentLength === undefined || fill.bytes === fill.headers.contentLength)) fill.finish();
          else fill.fail(new Error(`upstream ${target.name} closed the body early`));
        });
        res.on('error', (err) => {
          target.breaker.failure();
          fill.fail(err);
        });
        res.on('aborted', () => fill.done || fill.fail(new Error(`upstream ${target.name} aborted the body`)));
      });
      req.setTimeout(this.fillTimeoutMs, () => {
        req.destroy(Object.assign(new Error(`upstream ${target.name} timed out after ${this.fillTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return; // body errors are reported through the fill
        target.breaker.failure();
        settle({ kind: 'status', status: err.code === 'ETIMEDOUT' ? 504 : 502, reason: `upstream ${target.name}: ${err.message}`, source: target });
      });
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** Most bytes of an upstream's error answer that are read for its reason; the rest is drained. */
const ERROR_BODY_LIMIT_BYTES = 4096;

/**
 * The `error` string of an upstream's JSON error answer (`{"error": "..."}`, what our origin and
 * edges send), or undefined when the body is not that, is over ERROR_BODY_LIMIT_BYTES, or fails.
 * Never rejects.
 */
function errorOfAnswer(res: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    res.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= ERROR_BODY_LIMIT_BYTES) chunks.push(c);
    });
    res.on('error', () => resolve(undefined));
    res.on('close', () => resolve(undefined));
    res.on('end', () => {
      if (bytes > ERROR_BODY_LIMIT_BYTES) return resolve(undefined);
      try {
        const error = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: unknown }).error;
        resolve(typeof error === 'string' && error ? error : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

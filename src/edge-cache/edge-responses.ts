/**
 * How the edge answers a `/vod/` request once it knows where the bytes are: from a cached
 * object (conditional GET, one byte range, HEAD — the shared responder in
 * http/object-response.ts), or from a fill in progress, streamed as the bytes arrive.
 * Shaped sessions (shaping.ts) are paced through their link and never cached by the browser.
 */
import type http from 'node:http';
import { setCorsHeaders } from '../http/cors.js';
import { answerObjectRequest, sendJsonError } from '../http/object-response.js';
import type { EdgeMetrics } from './edge-metrics.js';
import type { EdgeFill } from './fill-coalescer.js';
import type { CachedObject } from './memory-tier.js';
import type { ShapedSession, ShapingSessions } from './shaping.js';

/** This edge's answer in `X-Cache`: from its cache, from a fill, or an expired copy served under stale-if-error. */
export type CacheOutcome = 'HIT' | 'MISS' | 'STALE';

export interface EdgeResponderOptions {
  readonly metrics: EdgeMetrics;
  readonly shaping: ShapingSessions;
  /** The edge's clock, ms since the epoch (Age header, RFC 9111 §5.1). */
  readonly nowMs: () => number;
  /** This edge's name in Via (RFC 9110 §7.6.3). */
  readonly viaName: () => string;
}

export class EdgeResponder {
  constructor(private readonly options: EdgeResponderOptions) {}

  /**
   * Answers from a whole object: conditional GET, one byte range, HEAD; counts the body bytes
   * served (as hit bytes unless `cache` is MISS).
   * @param fill the fill the object came from, for `X-Cache-Fill`.
   */
  sendObject(req: http.IncomingMessage, res: http.ServerResponse, object: CachedObject, cache: CacheOutcome, fill?: EdgeFill, shaped?: ShapedSession): void {
    const { shaping, metrics } = this.options;
    const size = object.body.length;
    res.setHeader('Content-Type', object.contentType);
    // A shaped session must not be answered from the browser's cache at memory speed.
    res.setHeader('Cache-Control', shaped ? 'no-store' : object.cacheControl);
    if (shaped) res.setHeader('X-Shaped-Rate', String(Math.round(shaping.currentRateBps(shaped))));
    if (object.etag) res.setHeader('ETag', object.etag);
    if (object.lastModified) res.setHeader('Last-Modified', object.lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Age', String(Math.max(0, Math.floor((this.options.nowMs() - object.storedAtMs) / 1000))));
    this.setCommonHeaders(res, cache, object.via ?? `1.1 ${this.options.viaName()}`, fill);
    const range = answerObjectRequest(req, res, size, object.etag);
    if (!range) return;
    const body = range.start === 0 && range.end === size - 1 ? object.body : object.body.subarray(range.start, range.end + 1);
    metrics.served(body.length, cache !== 'MISS');
    if (shaped) shaping.send(shaped, res, body);
    else res.end(body);
  }

  /**
   * Answers a request from a fill: streams the bytes as they arrive, or waits for the stored
   * object when a range, a validator or shaping needs the whole body. A body that breaks off
   * mid-stream ends the client's connection (its Content-Length cannot be met); one that breaks
   * before a whole-body answer started gets 502.
   */
  sendFill(req: http.IncomingMessage, res: http.ServerResponse, fill: EdgeFill, shaped?: ShapedSession): void {
    const upstream = fill.upstream;
    const needsWhole = req.headers.range !== undefined || req.headers['if-none-match'] !== undefined || shaped !== undefined;
    if (upstream.done || needsWhole) {
      void fill.stored.then((object) => {
        if (object) this.sendObject(req, res, object, 'MISS', fill, shaped);
        else sendJsonError(res, 502, 'upstream broke off');
      });
      return;
    }
    const h = upstream.headers;
    res.statusCode = 200;
    res.setHeader('Content-Type', h.contentType ?? 'application/octet-stream');
    res.setHeader('Cache-Control', h.cacheControl);
    if (h.etag) res.setHeader('ETag', h.etag);
    if (h.lastModified) res.setHeader('Last-Modified', h.lastModified);
    if (h.contentLength !== undefined) res.setHeader('Content-Length', h.contentLength);
    res.setHeader('Accept-Ranges', 'bytes');
    this.setCommonHeaders(res, 'MISS', `${h.via ? `${h.via}, ` : ''}1.1 ${this.options.viaName()}`, fill);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    for (const c of upstream.chunks) res.write(c);
    let sent = upstream.bytes;
    const onData = (c: Buffer) => {
      sent += c.length;
      res.write(c);
    };
    upstream.on('data', onData);
    res.once('close', () => upstream.off('data', onData));
    upstream.settled(
      () => {
        upstream.off('data', onData);
        this.options.metrics.served(sent);
        res.end();
      },
      () => {
        upstream.off('data', onData);
        res.destroy();
      },
    );
  }

  private setCommonHeaders(res: http.ServerResponse, cache: CacheOutcome, via: string | undefined, fill?: EdgeFill): void {
    res.setHeader('X-Cache', cache);
    if (via) res.setHeader('Via', via);
    if (fill) res.setHeader('X-Cache-Fill', `${fill.upstream.source.name} ${fill.upstream.headers.upstreamCache ?? 'ORIGIN'}`);
    setCorsHeaders(res);
  }
}

/**
 * Fills and request coalescing (collapsed forwarding): concurrent misses for one object make
 * one upstream fetch, whose bytes stream to every waiting client as they arrive. A fill owns
 * its "stored" step: once the whole body has arrived it becomes a cached object, offered to
 * the memory tier and written to the disk tier, and `EdgeFill.stored` resolves with it.
 * Compare nginx's `proxy_cache_lock` and Varnish's request coalescing (waiting list), which
 * make later requests wait for the first one instead of streaming with it.
 */
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { DiskTier } from './disk-tier.js';
import type { EdgeMetrics } from './edge-metrics.js';
import { freshnessLifetimeS } from './freshness.js';
import type { CacheTier, CachedObject } from './memory-tier.js';
import { contentTypeFor } from '../http/http-object.js';
import type { StreamingFill, UpstreamPool } from './upstream-pool.js';

/** One fill: the upstream body as it streams, and the object once stored. */
export interface EdgeFill {
  /** Headers, source and body chunks of the upstream answer, with 'data' / 'end' / 'error' events. */
  readonly upstream: StreamingFill;
  /**
   * Resolves once the whole body has arrived and was offered to the tiers, with the cached
   * object (served to clients that need the whole body: ranges, validators, shaping); resolves
   * undefined when the upstream broke off. Never rejects.
   */
  readonly stored: Promise<CachedObject | undefined>;
}

/** A fill in progress, or the status to answer when no upstream gave a body (4xx, 502, 504). */
export type FillOutcome = { readonly kind: 'fill'; readonly fill: EdgeFill } | { readonly kind: 'status'; readonly status: number; readonly reason: string };

export interface FillCoalescerOptions {
  readonly upstreams: UpstreamPool;
  readonly memory: CacheTier;
  readonly disk: DiskTier | undefined;
  readonly metrics: EdgeMetrics;
  /** The edge's clock, ms since the epoch (storage time, disk expiry). */
  readonly nowMs: () => number;
  /** This edge's name for the Via header of stored objects (RFC 9110 §7.6.3). */
  readonly viaName: () => string;
  readonly log: Logger;
}

export class FillCoalescer {
  private readonly inFlight = new Map<string, Promise<FillOutcome>>();
  /** Per-fill warnings (an origin that is down fails every miss): one rate-limited line each. */
  private readonly warnings: RateLimitedLog;

  constructor(private readonly options: FillCoalescerOptions) {
    this.warnings = new RateLimitedLog(options.log);
  }

  /** Fills in flight now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Starts or joins the fill of `key` (one upstream fetch however many requests wait).
   * A request that joins counts one more access for the memory tier's policy once the object is
   * stored, as the simulator counts it.
   * @param key the cache key (a normalised `/vod/...` path).
   * @param upstreamPath path and query sent upstream (the query reaches the origin; a signed-URL token does not).
   */
  fill(key: string, upstreamPath: string): Promise<FillOutcome> {
    const pending = this.inFlight.get(key);
    if (pending) {
      this.options.metrics.coalesced.inc();
      return pending.then((o) => {
        if (o.kind === 'fill') void o.fill.stored.then((stored) => stored && this.options.memory.get(key));
        return o;
      });
    }
    const promise = this.start(key, upstreamPath);
    this.inFlight.set(key, promise);
    return promise;
  }

  private async start(key: string, upstreamPath: string): Promise<FillOutcome> {
    const { metrics } = this.options;
    const log = this.warnings;
    const started = performance.now();
    const answer = await this.options.upstreams.fetch(upstreamPath);
    if (answer.kind === 'status') {
      this.inFlight.delete(key);
      if (answer.status >= 500) log.warn({ key, reason: answer.reason }, 'fill failed');
      return answer;
    }
    const upstream = answer.fill;
    const stored = new Promise<CachedObject | undefined>((resolve) => {
      upstream.settled(
        () => {
          this.inFlight.delete(key);
          const body = upstream.body();
          metrics.filled(body.length);
          metrics.fillSeconds.observe((performance.now() - started) / 1000);
          resolve(this.store(key, upstream, body));
        },
        (err) => {
          this.inFlight.delete(key);
          log.warn({ key, err: err.message }, 'fill broke off');
          resolve(undefined);
        },
      );
    });
    return { kind: 'fill', fill: { upstream, stored } };
  }

  /** Makes the cached object of a complete body and offers it to the memory and disk tiers. */
  private store(key: string, upstream: StreamingFill, body: Buffer): CachedObject {
    const { memory, disk, nowMs } = this.options;
    const log = this.warnings;
    const h = upstream.headers;
    const object: CachedObject = {
      body,
      contentType: h.contentType ?? contentTypeFor(key),
      etag: h.etag,
      lastModified: h.lastModified,
      cacheControl: h.cacheControl,
      storedAtMs: nowMs(),
      via: `${h.via ? `${h.via}, ` : ''}1.1 ${this.options.viaName()}`,
    };
    const ttlS = freshnessLifetimeS(object.cacheControl);
    memory.set(key, object, ttlS);
    if (disk && ttlS > 0) {
      disk.set(key, object, nowMs() + ttlS * 1000).catch((err: unknown) => log.warn({ key, err: String(err) }, 'disk write failed'));
    }
    return object;
  }
}

/**
 * Prometheus metrics of one edge (prom-client), on a registry of its own so several edges
 * can run in one process (tests, `vod serve`). Ratios are computed at scrape time from the
 * counters (also derivable in PromQL; exported for people reading /metrics by hand).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState } from './circuit-breaker.js';

export interface EdgeMetricsSources {
  cacheSize(): { bytes: number; objects: number };
  diskSize(): { bytes: number; objects: number };
  breakers(): { name: string; state: BreakerState }[];
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export class EdgeMetrics {
  readonly registry = new Registry();
  /** Requests for cacheable content by outcome: hit, miss. */
  readonly requests: Counter<'cache'>;
  readonly hits: Counter;
  readonly misses: Counter;
  /** Response body bytes sent to clients (after ranges), bytes. */
  readonly bytesServed: Counter;
  /** Body bytes fetched from upstream to fill the cache, bytes. */
  readonly bytesFilled: Counter;
  /** Misses that joined a fill already in flight (request coalescing). */
  readonly coalesced: Counter;
  readonly evictions: Counter;
  readonly diskHits: Counter;
  readonly staleServed: Counter;
  readonly forbidden: Counter;
  readonly purged: Counter;
  /** Time from the start of a fill to its last byte, seconds. */
  readonly fillSeconds: Histogram;

  constructor(sources: EdgeMetricsSources, withProcessMetrics = true) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'vod_edge_requests_total', help: 'Requests for cacheable content, by cache outcome.', labelNames: ['cache'], registers });
    this.hits = new Counter({ name: 'vod_edge_cache_hits_total', help: 'Requests answered from the cache (memory or disk).', registers });
    this.misses = new Counter({ name: 'vod_edge_cache_misses_total', help: 'Requests that needed a fill from upstream.', registers });
    this.bytesServed = new Counter({ name: 'vod_edge_bytes_served_total', help: 'Response body bytes sent to clients.', registers });
    this.bytesFilled = new Counter({ name: 'vod_edge_bytes_filled_total', help: 'Body bytes fetched from upstream to fill the cache.', registers });
    this.coalesced = new Counter({ name: 'vod_edge_coalesced_requests_total', help: 'Misses that joined a fill already in flight.', registers });
    this.evictions = new Counter({ name: 'vod_edge_evictions_total', help: 'Objects evicted from the memory tier to make room.', registers });
    this.diskHits = new Counter({ name: 'vod_edge_disk_hits_total', help: 'Hits answered from the disk tier.', registers });
    this.staleServed = new Counter({ name: 'vod_edge_stale_served_total', help: 'Expired objects served because every upstream failed (stale-if-error).', registers });
    this.forbidden = new Counter({ name: 'vod_edge_forbidden_total', help: 'Requests refused for a missing, bad or expired URL token.', registers });
    this.purged = new Counter({ name: 'vod_edge_purged_objects_total', help: 'Objects removed by purge requests.', registers });
    this.fillSeconds = new Histogram({
      name: 'vod_edge_fill_seconds',
      help: 'Fill latency: start of the upstream fetch to the last body byte.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'vod_edge_hit_ratio',
      help: 'Cache hits / requests since start.',
      registers,
      collect() {
        const t = self.totals;
        this.set(t.hits + t.misses > 0 ? t.hits / (t.hits + t.misses) : 0);
      },
    });
    new Gauge({
      name: 'vod_edge_byte_hit_ratio',
      help: 'Body bytes served from the cache / body bytes served since start.',
      registers,
      collect() {
        const t = self.totals;
        this.set(t.bytesServed > 0 ? t.hitBytes / t.bytesServed : 0);
      },
    });
    new Gauge({
      name: 'vod_edge_origin_offload',
      help: '1 - bytes filled from upstream / bytes served since start (the byte hit ratio seen by the upstream).',
      registers,
      collect() {
        const t = self.totals;
        this.set(t.bytesServed > 0 ? Math.max(0, 1 - t.bytesFilled / t.bytesServed) : 0);
      },
    });
    new Gauge({ name: 'vod_edge_cache_bytes', help: 'Bytes held by the memory tier.', registers, collect() { this.set(sources.cacheSize().bytes); } });
    new Gauge({ name: 'vod_edge_cache_objects', help: 'Objects held by the memory tier.', registers, collect() { this.set(sources.cacheSize().objects); } });
    new Gauge({ name: 'vod_edge_disk_bytes', help: 'Bytes held by the disk tier.', registers, collect() { this.set(sources.diskSize().bytes); } });
    new Gauge({
      name: 'vod_edge_upstream_breaker_state',
      help: 'Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.',
      labelNames: ['upstream'],
      registers,
      collect() {
        for (const b of sources.breakers()) this.set({ upstream: b.name }, BREAKER_VALUE[b.state]);
      },
    });
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'vod_edge_' });
  }

  /** Running totals behind the ratio gauges (prom-client counters cannot be read back cheaply). */
  readonly totals = { hits: 0, misses: 0, bytesServed: 0, hitBytes: 0, bytesFilled: 0 };

  hit(): void {
    this.totals.hits++;
    this.requests.inc({ cache: 'hit' });
    this.hits.inc();
  }

  miss(): void {
    this.totals.misses++;
    this.requests.inc({ cache: 'miss' });
    this.misses.inc();
  }

  /** Counts body bytes sent; `fromCache` when they came from a cache tier (a hit). */
  served(bytes: number, fromCache = false): void {
    this.totals.bytesServed += bytes;
    if (fromCache) this.totals.hitBytes += bytes;
    this.bytesServed.inc(bytes);
  }

  filled(bytes: number): void {
    this.totals.bytesFilled += bytes;
    this.bytesFilled.inc(bytes);
  }
}

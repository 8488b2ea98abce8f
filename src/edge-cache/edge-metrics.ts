/**
 * Prometheus metrics of one edge (prom-client), on a registry of its own so several edges
 * can run in one process (tests, `vod serve`).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class EdgeMetrics {
  readonly registry = new Registry();
  /** Requests for cacheable content by outcome: hit, miss, error. */
  readonly requests: Counter<'cache'>;
  readonly hits: Counter;
  readonly misses: Counter;
  /** Response body bytes sent to clients (after ranges), bytes. */
  readonly bytesServed: Counter;
  /** Body bytes fetched from upstream to fill the cache, bytes. */
  readonly bytesFilled: Counter;
  /** Fills that another request for the same object was already making (request coalescing). */
  readonly coalesced: Counter;
  readonly cacheBytes: Gauge;
  readonly cacheObjects: Gauge;

  /**
   * @param cacheSize reads the memory tier's current size in bytes and object count at scrape time.
   * @param withProcessMetrics also export prom-client's default process metrics (CPU, memory).
   */
  constructor(cacheSize: () => { bytes: number; objects: number }, withProcessMetrics = true) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'vod_edge_requests_total', help: 'Requests for cacheable content, by cache outcome.', labelNames: ['cache'], registers });
    this.hits = new Counter({ name: 'vod_edge_cache_hits_total', help: 'Requests answered from the cache.', registers });
    this.misses = new Counter({ name: 'vod_edge_cache_misses_total', help: 'Requests that needed a fill from upstream.', registers });
    this.bytesServed = new Counter({ name: 'vod_edge_bytes_served_total', help: 'Response body bytes sent to clients.', registers });
    this.bytesFilled = new Counter({ name: 'vod_edge_bytes_filled_total', help: 'Body bytes fetched from upstream to fill the cache.', registers });
    this.coalesced = new Counter({ name: 'vod_edge_coalesced_requests_total', help: 'Misses that joined a fill already in flight.', registers });
    this.cacheBytes = new Gauge({
      name: 'vod_edge_cache_bytes',
      help: 'Bytes held by the memory tier.',
      registers,
      collect() {
        this.set(cacheSize().bytes);
      },
    });
    this.cacheObjects = new Gauge({
      name: 'vod_edge_cache_objects',
      help: 'Objects held by the memory tier.',
      registers,
      collect() {
        this.set(cacheSize().objects);
      },
    });
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'vod_edge_' });
  }
}

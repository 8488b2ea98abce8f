/**
 * The edge's memory tier: an LRU (lru-cache) bounded in bytes. An object larger than the
 * whole tier is never admitted (as libCacheSim does). Expiry follows the object's
 * Cache-Control max-age (RFC 9111 §4.2.1), through lru-cache's per-entry TTL.
 */
import { LRUCache } from 'lru-cache';

export interface CachedObject {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly cacheControl: string;
  /** When the object entered the cache, ms since the epoch (for the Age header). */
  readonly storedAtMs: number;
}

/** Bookkeeping bytes charged per entry on top of its body (key, headers, LRU node). */
export const ENTRY_OVERHEAD_BYTES = 256;

/**
 * Freshness lifetime from Cache-Control (RFC 9111 §4.2.1: s-maxage, else max-age), seconds.
 * @returns 0 for no-store / private / no-cache or no max-age (not cached by the edge).
 */
export function freshnessLifetimeS(cacheControl: string | null | undefined): number {
  if (!cacheControl) return 0;
  const cc = cacheControl.toLowerCase();
  if (/(^|[\s,])(no-store|private|no-cache)([\s,=]|$)/.test(cc)) return 0;
  const s = /(?:^|[\s,])s-maxage=(\d+)/.exec(cc) ?? /(?:^|[\s,])max-age=(\d+)/.exec(cc);
  return s ? Number(s[1]) : 0;
}

export class MemoryTier {
  private readonly lru: LRUCache<string, CachedObject>;
  readonly maxBytes: number;

  /** @param maxBytes capacity in bytes, bodies plus ENTRY_OVERHEAD_BYTES each; must be > 0. */
  constructor(maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError(`cache size must be positive, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.lru = new LRUCache<string, CachedObject>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.body.length + k.length + ENTRY_OVERHEAD_BYTES,
      ttlAutopurge: false,
      allowStale: false,
    });
  }

  get(key: string): CachedObject | undefined {
    return this.lru.get(key);
  }

  /**
   * Stores an object for `ttlS` seconds.
   * @returns false when it was not admitted (larger than the tier, or ttl 0).
   */
  set(key: string, value: CachedObject, ttlS: number): boolean {
    const size = value.body.length + key.length + ENTRY_OVERHEAD_BYTES;
    if (ttlS <= 0 || size > this.maxBytes) return false;
    this.lru.set(key, value, { ttl: ttlS * 1000, size });
    return this.lru.has(key);
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Current bytes held (bodies plus overhead) and object count. */
  size(): { bytes: number; objects: number } {
    return { bytes: this.lru.calculatedSize, objects: this.lru.size };
  }
}

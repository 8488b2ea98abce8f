/**
 * The edge's memory tier, bounded in bytes, in two implementations behind one interface:
 * - `MemoryTier` (default): an LRU from lru-cache, charging each entry its body plus
 *   ENTRY_OVERHEAD_BYTES; expiry through lru-cache's per-entry TTL;
 * - `PolicyMemoryTier` (`vod edge --policy NAME`): any policy of the registry — the same code
 *   the hit-ratio simulator runs — charging body bytes only, as the simulator does.
 * Either way an object larger than the whole tier is never admitted (as libCacheSim does),
 * and freshness follows the object's Cache-Control (RFC 9111 §4.2.1).
 */
import { LRUCache } from 'lru-cache';
import type { CachePolicy } from './policies/cache-policy.js';
import { createPolicy, POLICIES } from './policies/policy-registry.js';

export interface CachedObject {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly cacheControl: string;
  /** When the object entered the cache, ms since the epoch (for the Age header). */
  readonly storedAtMs: number;
  /** Via header to answer with: the upstream's Via plus this edge (RFC 9110 §7.6.3). */
  readonly via?: string;
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

/** What the edge needs from a memory tier. */
export interface CacheTier {
  /** Name of the eviction policy ('lru-cache' for the default tier). */
  readonly policyName: string;
  readonly maxBytes: number;
  /** The cached, fresh object for a request, or undefined (a miss). Counts as an access. */
  get(key: string): CachedObject | undefined;
  /** The object even if its freshness has run out (for stale-if-error), without counting an access. */
  getStale(key: string): CachedObject | undefined;
  /** Keys held whose path starts with `prefix` (purge by title). */
  keysWithPrefix(prefix: string): string[];
  /**
   * Offers an object fetched after a miss for `ttlS` seconds.
   * @returns true when the tier admitted it.
   */
  set(key: string, value: CachedObject, ttlS: number): boolean;
  delete(key: string): boolean;
  size(): { bytes: number; objects: number };
}

export class MemoryTier implements CacheTier {
  readonly policyName = 'lru-cache';
  private readonly lru: LRUCache<string, CachedObject>;
  readonly maxBytes: number;

  /**
   * @param maxBytes capacity in bytes, bodies plus ENTRY_OVERHEAD_BYTES each; must be > 0.
   * @param onEvict called for each object evicted to make room.
   */
  constructor(maxBytes: number, onEvict?: () => void) {
    if (!(maxBytes > 0)) throw new RangeError(`cache size must be positive, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.lru = new LRUCache<string, CachedObject>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.body.length + k.length + ENTRY_OVERHEAD_BYTES,
      ttlAutopurge: false,
      allowStale: false,
      // Expired entries stay until evicted or replaced, for stale-if-error.
      noDeleteOnStaleGet: true,
      ...(onEvict ? { dispose: (_v: CachedObject, _k: string, reason: string) => reason === 'evict' && onEvict() } : {}),
    });
  }

  get(key: string): CachedObject | undefined {
    return this.lru.get(key);
  }

  getStale(key: string): CachedObject | undefined {
    return this.lru.get(key, { allowStale: true, updateAgeOnGet: false });
  }

  keysWithPrefix(prefix: string): string[] {
    return [...this.lru.keys()].filter((k) => k.startsWith(prefix));
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

/**
 * A memory tier run by a cache policy from the registry. URLs get dense ids in order of first
 * appearance (ids are never reused, so ghost entries stay meaningful; the id map grows with
 * the number of distinct URLs seen). Each request reaches the policy exactly once: at lookup
 * on a hit, after the fill on a miss — the order the simulator uses.
 */
export class PolicyMemoryTier implements CacheTier {
  readonly policyName: string;
  readonly maxBytes: number;
  private readonly policy: CachePolicy;
  private readonly ids = new Map<string, number>();
  private readonly bodies = new Map<number, CachedObject & { expiresAtMs: number }>();
  private bytes = 0;
  private readonly nowMs: () => number;

  /**
   * @param policyName a registry name (online policies only).
   * @param maxBytes capacity in body bytes.
   * @param nowMs injectable clock for expiry (tests).
   * @throws RangeError for an unknown or offline policy, or a non-positive size.
   */
  constructor(policyName: string, maxBytes: number, nowMs: () => number = Date.now, onEvict?: () => void) {
    if (POLICIES[policyName]?.offline) throw new RangeError(`${policyName} needs the future and cannot run on a live edge`);
    this.policyName = policyName;
    this.maxBytes = maxBytes;
    this.nowMs = nowMs;
    this.policy = createPolicy(policyName, {
      capacityBytes: maxBytes,
      expectedObjects: 1 << 14,
      onEvict: (id) => {
        const b = this.bodies.get(id);
        if (b) {
          this.bytes -= b.body.length;
          this.bodies.delete(id);
          onEvict?.();
        }
      },
    });
  }

  get(key: string): CachedObject | undefined {
    const id = this.ids.get(key);
    if (id === undefined) return undefined;
    const entry = this.bodies.get(id);
    if (!entry) return undefined;
    // An expired body stays (for stale-if-error) until the refill replaces it or the policy evicts it.
    if (entry.expiresAtMs <= this.nowMs()) return undefined;
    this.policy.access(id, entry.body.length);
    return entry;
  }

  getStale(key: string): CachedObject | undefined {
    const id = this.ids.get(key);
    return id === undefined ? undefined : this.bodies.get(id);
  }

  keysWithPrefix(prefix: string): string[] {
    return [...this.ids].filter(([k, id]) => k.startsWith(prefix) && this.bodies.has(id)).map(([k]) => k);
  }

  set(key: string, value: CachedObject, ttlS: number): boolean {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(key, id);
    }
    if (ttlS <= 0) return false;
    this.policy.access(id, value.body.length);
    if (!this.policy.contains(id)) return false;
    const previous = this.bodies.get(id);
    if (previous) this.bytes -= previous.body.length;
    this.bodies.set(id, { ...value, expiresAtMs: this.nowMs() + ttlS * 1000 });
    this.bytes += value.body.length;
    return true;
  }

  delete(key: string): boolean {
    const id = this.ids.get(key);
    return id !== undefined && this.policy.remove(id);
  }

  size(): { bytes: number; objects: number } {
    return { bytes: this.bytes, objects: this.bodies.size };
  }
}

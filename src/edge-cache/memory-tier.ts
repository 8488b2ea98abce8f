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
import type { CachePolicy } from '../cache-policies/cache-policy.js';
import { createPolicy, isOnlinePolicyName, isPolicyName, ONLINE_POLICY_NAMES, type OnlinePolicyName, type PolicyName } from '../cache-policies/policy-registry.js';

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

/** The default memory tier's name: the lru-cache package, not a policy of the simulator's registry. */
export const LRU_CACHE_TIER = 'lru-cache';
/** Every memory-tier policy `vod edge --policy` accepts: lru-cache, then the registry's online policies. */
export const EDGE_POLICY_NAMES = [LRU_CACHE_TIER, ...ONLINE_POLICY_NAMES] as const;
export type EdgePolicyName = typeof LRU_CACHE_TIER | OnlinePolicyName;

/** The simulator policy that models an edge policy: lru-cache is an LRU (plus per-entry overhead). */
export function simulatedPolicyOf(edgePolicy: EdgePolicyName): PolicyName {
  return edgePolicy === LRU_CACHE_TIER ? 'lru' : edgePolicy;
}

/**
 * Creates the memory tier an edge runs: lru-cache's LRU, or a policy of the registry. The one
 * place a policy name from outside (flags, options) is checked for a live edge.
 * @param nowMs clock for expiry, ms (tests inject one to advance time without sleeping).
 * @param onEvict called for each object evicted to make room.
 * @throws RangeError for an offline policy (it needs the future), an unknown name or a non-positive size.
 */
export function createMemoryTier(policy: string, maxBytes: number, options: { nowMs?: () => number; onEvict?: () => void } = {}): CacheTier {
  const nowMs = options.nowMs ?? Date.now;
  if (policy === LRU_CACHE_TIER) return new MemoryTier(maxBytes, options.onEvict, nowMs);
  if (isOnlinePolicyName(policy)) return new PolicyMemoryTier(policy, maxBytes, nowMs, options.onEvict);
  if (isPolicyName(policy)) throw new RangeError(`${policy} needs the future and cannot run on a live edge`);
  throw new RangeError(`unknown cache policy '${policy}'; known: ${EDGE_POLICY_NAMES.join(', ')}`);
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
  readonly policyName = LRU_CACHE_TIER;
  private readonly lru: LRUCache<string, CachedObject>;
  readonly maxBytes: number;

  /**
   * @param maxBytes capacity in bytes, bodies plus ENTRY_OVERHEAD_BYTES each; must be > 0.
   * @param onEvict called for each object evicted to make room.
   * @param nowMs clock for expiry, ms (lru-cache's TTL clock). Default Date.now.
   */
  constructor(maxBytes: number, onEvict?: () => void, nowMs: () => number = Date.now) {
    if (!(maxBytes > 0)) throw new RangeError(`cache size must be positive, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.lru = new LRUCache<string, CachedObject>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.body.length + k.length + ENTRY_OVERHEAD_BYTES,
      ttlAutopurge: false,
      allowStale: false,
      // Expired entries stay until evicted or replaced, for stale-if-error.
      noDeleteOnStaleGet: true,
      perf: { now: nowMs },
      // Read the clock at every check: lru-cache otherwise reuses one reading until a 1 ms timer
      // clears it, so an injected clock moved between two requests could go unseen (a test
      // flaked on it under load: an expired playlist answered HIT instead of STALE).
      ttlResolution: 0,
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
  readonly policyName: OnlinePolicyName;
  readonly maxBytes: number;
  private readonly policy: CachePolicy;
  private readonly ids = new Map<string, number>();
  private readonly bodies = new Map<number, CachedObject & { expiresAtMs: number }>();
  private bytes = 0;
  private readonly nowMs: () => number;

  /**
   * @param policyName an online policy of the registry.
   * @param maxBytes capacity in body bytes.
   * @param nowMs injectable clock for expiry (tests).
   * @throws RangeError for a non-positive size.
   */
  constructor(policyName: OnlinePolicyName, maxBytes: number, nowMs: () => number = Date.now, onEvict?: () => void) {
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
    // A policy keeps the size an object was admitted with (libCacheSim's rule): a body of another
    // size replaces the old one as a new admission.
    const previous = this.bodies.get(id);
    if (previous && previous.body.length !== value.body.length) this.policy.remove(id);
    this.policy.access(id, value.body.length);
    if (!this.policy.contains(id)) return false;
    const kept = this.bodies.get(id);
    if (kept) this.bytes -= kept.body.length;
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

import { describe, expect, it } from 'vitest';
import { freshnessLifetimeS } from '../../../src/edge-cache/freshness.js';
import { createMemoryTier, ENTRY_OVERHEAD_BYTES, MemoryTier, type CachedObject } from '../../../src/edge-cache/memory-tier.js';

const obj = (bytes: number): CachedObject => ({
  body: Buffer.alloc(bytes),
  contentType: 'video/mp4',
  etag: undefined,
  lastModified: undefined,
  cacheControl: 'public, max-age=60',
  storedAtMs: 0,
});

describe('freshnessLifetimeS (RFC 9111 §4.2.1)', () => {
  it('reads s-maxage before max-age and refuses private/no-store/no-cache', () => {
    expect(freshnessLifetimeS('public, max-age=31536000, immutable')).toBe(31_536_000);
    expect(freshnessLifetimeS('max-age=10, s-maxage=99')).toBe(99);
    expect(freshnessLifetimeS('private, max-age=10')).toBe(0);
    expect(freshnessLifetimeS('no-store')).toBe(0);
    expect(freshnessLifetimeS('no-cache, max-age=5')).toBe(0);
    expect(freshnessLifetimeS('')).toBe(0);
    expect(freshnessLifetimeS(undefined)).toBe(0);
  });
});

describe('MemoryTier', () => {
  it('stays within its byte budget, evicting the least recently used', () => {
    const perEntry = 1000 + 2 + ENTRY_OVERHEAD_BYTES;
    const tier = new MemoryTier(perEntry * 3);
    for (const k of ['/a', '/b', '/c']) expect(tier.set(k, obj(1000), 60)).toBe(true);
    tier.get('/a'); // /b is now least recently used
    tier.set('/d', obj(1000), 60);
    expect(tier.get('/b')).toBeUndefined();
    expect(tier.get('/a')).toBeDefined();
    expect(tier.size()).toEqual({ bytes: perEntry * 3, objects: 3 });
  });

  it('never admits an object larger than the tier, nor one with no freshness', () => {
    const tier = new MemoryTier(4096);
    expect(tier.set('/big', obj(5000), 60)).toBe(false);
    expect(tier.set('/nocache', obj(10), 0)).toBe(false);
    expect(tier.size().objects).toBe(0);
  });

  it('rejects a non-positive size', () => {
    expect(() => new MemoryTier(0)).toThrow(RangeError);
  });
});

describe('PolicyMemoryTier', () => {
  it('runs a registry policy, drops evicted bodies and expires by the injected clock', async () => {
    const { PolicyMemoryTier } = await import('../../../src/edge-cache/memory-tier.js');
    let now = 0;
    const tier = new PolicyMemoryTier('sieve', 2000, () => now);
    expect(tier.get('/a')).toBeUndefined(); // a miss: the edge fills, then offers the object
    expect(tier.set('/a', obj(1000), 60)).toBe(true);
    expect(tier.set('/b', obj(1000), 60)).toBe(true);
    expect(tier.get('/a')).toBeDefined(); // visited
    expect(tier.set('/c', obj(1000), 60)).toBe(true); // SIEVE evicts /b (unvisited)
    expect(tier.get('/b')).toBeUndefined();
    expect(tier.size()).toEqual({ bytes: 2000, objects: 2 });
    now = 61_000;
    expect(tier.get('/a')).toBeUndefined(); // expired: a miss, the edge refills it…
    expect(tier.getStale('/a')).toBeDefined(); // …but the old copy stays for stale-if-error
    expect(tier.set('/a', obj(1000), 60)).toBe(true);
    expect(tier.get('/a')).toBeDefined();
    expect(tier.keysWithPrefix('/').sort()).toEqual(['/a', '/c']);
    expect(tier.set('/big', obj(5000), 60)).toBe(false);
  });

  it('refuses offline and unknown policies', () => {
    expect(() => createMemoryTier('belady', 100)).toThrow(/cannot run on a live edge/);
    expect(() => createMemoryTier('nope', 100)).toThrow(/unknown cache policy 'nope'; known: lru-cache, lru/);
    expect(createMemoryTier('lru-cache', 100).policyName).toBe('lru-cache');
    expect(createMemoryTier('s3fifo', 100).policyName).toBe('s3fifo');
  });
});

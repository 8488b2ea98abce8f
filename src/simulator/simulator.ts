/**
 * The trace-driven hit-ratio simulator: replays a trace through one policy at one size and
 * counts hits the way libCacheSim does (a request is a hit if the object is cached at that
 * moment; an object larger than the cache is never admitted and counts as a miss; the byte
 * hit ratio weighs each request by its size). Statistics only; reporting lives elsewhere.
 */
import type { PolicyOptions } from '../cache-policies/cache-policy.js';
import { createPolicy, POLICIES, type PolicyName } from '../cache-policies/policy-registry.js';
import { nextAccessIndices, type Trace } from './trace.js';

export interface SimulationResult {
  readonly trace: string;
  readonly policy: PolicyName;
  readonly capacityBytes: number;
  readonly requests: number;
  readonly hits: number;
  readonly requestedBytes: number;
  readonly hitBytes: number;
  /** hits / requests. */
  readonly hitRatio: number;
  /** hit bytes / requested bytes. */
  readonly byteHitRatio: number;
  /** Bytes fetched from the origin: the requested bytes of every miss. */
  readonly originEgressBytes: number;
  /** 1 − origin egress / requested bytes (equals the byte hit ratio for a single tier). */
  readonly originOffload: number;
  /** Wall-clock time of the replay loop, ms (excludes reading the trace). */
  readonly elapsedMs: number;
  readonly requestsPerSecond: number;
}

/**
 * Replays `trace` through a new `policy` of `capacityBytes`, with libCacheSim's integer
 * arithmetic (PolicyOptions.libCacheSimArithmetic: its W-TinyLFU filter sizing) unless
 * `policyOptions` says otherwise.
 * @param nextAccess precomputed next-access indices (computed here if an offline policy needs them).
 * @param onProgress called every 2^18 requests with the requests done.
 * @throws RangeError for an unknown policy or a non-positive capacity.
 */
export function simulate(
  trace: Trace,
  policy: PolicyName,
  capacityBytes: number,
  options: { nextAccess?: Float64Array; onProgress?: (done: number) => void; policyOptions?: Partial<PolicyOptions> } = {},
): SimulationResult {
  // libCacheSim's integer arithmetic: the simulator's numbers are compared with libCacheSim's.
  const cache = createPolicy(policy, { capacityBytes, expectedObjects: trace.uniqueObjects, sourceIds: trace.sourceIds, libCacheSimArithmetic: true, ...options.policyOptions });
  const ids = trace.ids;
  const sizes = trace.sizes;
  const n = trace.requests;
  let hits = 0;
  let requestedBytes = 0;
  let hitBytes = 0;
  const started = performance.now();
  if (POLICIES[policy].offline) {
    const next = options.nextAccess ?? nextAccessIndices(trace);
    for (let i = 0; i < n; i++) {
      const size = sizes[i]!;
      requestedBytes += size;
      if (cache.access(ids[i]!, size, next[i]!)) {
        hits++;
        hitBytes += size;
      }
      if ((i & 0x3ffff) === 0 && i > 0) options.onProgress?.(i);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const size = sizes[i]!;
      requestedBytes += size;
      if (cache.access(ids[i]!, size)) {
        hits++;
        hitBytes += size;
      }
      if ((i & 0x3ffff) === 0 && i > 0) options.onProgress?.(i);
    }
  }
  const elapsedMs = performance.now() - started;
  options.onProgress?.(n);
  return {
    trace: trace.name,
    policy,
    capacityBytes,
    requests: n,
    hits,
    requestedBytes,
    hitBytes,
    hitRatio: n > 0 ? hits / n : 0,
    byteHitRatio: requestedBytes > 0 ? hitBytes / requestedBytes : 0,
    originEgressBytes: requestedBytes - hitBytes,
    originOffload: requestedBytes > 0 ? hitBytes / requestedBytes : 0,
    elapsedMs,
    requestsPerSecond: elapsedMs > 0 ? (n / elapsedMs) * 1000 : Number.POSITIVE_INFINITY,
  };
}

/**
 * The explicit registry from policy name to factory (as Caffeine's simulator keeps one), used
 * by `vod edge --policy` and `vod bench hit-ratio --policies`.
 */
import { ArcPolicy } from './arc.js';
import { BeladyBypassPolicy, BeladyPolicy } from './belady.js';
import { ClockPolicy } from './clock.js';
import type { CachePolicy, PolicyOptions } from './cache-policy.js';
import { FifoPolicy } from './fifo.js';
import { GdsfPolicy } from './gdsf.js';
import { LfuPolicy } from './lfu.js';
import { LhdPolicy } from './lhd.js';
import { LirsPolicy } from './lirs.js';
import { LruPolicy } from './lru.js';
import { S3FifoPolicy } from './s3fifo.js';
import { SievePolicy } from './sieve.js';
import { SegmentedLruPolicy } from './slru.js';
import { TwoQPolicy } from './two-q.js';
import { WTinyLfuPolicy } from './w-tinylfu.js';
import { CaffeineWTinyLfuPolicy } from './w-tinylfu-caffeine.js';

export interface PolicyEntry {
  readonly create: (options: PolicyOptions) => CachePolicy;
  /** Needs each request's next-access time: simulator only, never the live edge. */
  readonly offline: boolean;
  readonly description: string;
  /**
   * The libCacheSim (commit aa0fc40) cache this policy reproduces, as `cachesim` prints its name,
   * when it does; absent for our own designs. Equal miss counts are checked in
   * test/unit/simulator/libcachesim-exact.test.ts.
   */
  readonly libCacheSim?: string;
}

export const POLICIES = Object.freeze({
  lru: { create: (o) => new LruPolicy(o), offline: false, description: 'least recently used', libCacheSim: 'LRU' },
  fifo: { create: (o) => new FifoPolicy(o), offline: false, description: 'first in, first out', libCacheSim: 'FIFO' },
  lfu: { create: (o) => new LfuPolicy(o), offline: false, description: 'least frequently used (in-cache counts)', libCacheSim: 'LFU' },
  arc: { create: (o) => new ArcPolicy(o), offline: false, description: 'ARC, Megiddo & Modha FAST 2003 (byte-sized)', libCacheSim: 'ARC' },
  s3fifo: { create: (o) => new S3FifoPolicy(o), offline: false, description: 'S3-FIFO, Yang et al. SOSP 2023', libCacheSim: 'S3FIFO-0.1000-2' },
  sieve: { create: (o) => new SievePolicy(o), offline: false, description: 'SIEVE, Zhang et al. NSDI 2024', libCacheSim: 'Sieve' },
  'w-tinylfu': { create: (o) => new WTinyLfuPolicy(o), offline: false, description: 'W-TinyLFU, Einziger et al. ACM ToS 2017, as libCacheSim WTinyLFU-w0.01-SLRU', libCacheSim: 'WTinyLFU-w0.01-SLRU' },
  'w-tinylfu-caffeine': { create: (o) => new CaffeineWTinyLfuPolicy(o), offline: false, description: "W-TinyLFU as Caffeine builds it (ours: count-min sketch, fixed 1% window)" },
  gdsf: { create: (o) => new GdsfPolicy(o), offline: false, description: 'Greedy-Dual-Size-Frequency, Cherkasova 1998 (size-aware)', libCacheSim: 'GDSF' },
  clock: { create: (o) => new ClockPolicy(o), offline: false, description: 'CLOCK, one reference bit (second chance)', libCacheSim: 'Clock' },
  '2q': { create: (o) => new TwoQPolicy(o), offline: false, description: '2Q, Johnson & Shasha VLDB 1994 (A1in 25%, A1out 50%, Am)', libCacheSim: 'TwoQ' },
  lirs: { create: (o) => new LirsPolicy(o), offline: false, description: 'LIRS, Jiang & Zhang SIGMETRICS 2002 (HIR 1%)', libCacheSim: 'LIRS' },
  s4lru: { create: (o) => new SegmentedLruPolicy(o, SegmentedLruPolicy.equalSegments(o.capacityBytes, 4), 's4lru'), offline: false, description: 'segmented LRU, four equal segments', libCacheSim: 'S4LRU(25:25:25:25)' },
  lhd: { create: (o) => new LhdPolicy(o), offline: false, description: 'LHD, Beckmann et al. NSDI 2018 (least hit density, sampled eviction)', libCacheSim: 'LHD' },
  belady: { create: (o) => new BeladyPolicy(o), offline: true, description: "Belady's MIN as libCacheSim runs it (always admits; offline reference)", libCacheSim: 'Belady' },
  'belady-bypass': { create: (o) => new BeladyBypassPolicy(o), offline: true, description: "Belady's MIN with bypass (ours: optimal for equal sizes; offline bound)" },
} as const satisfies Record<string, PolicyEntry>);

/** A policy's registry name. */
export type PolicyName = keyof typeof POLICIES;
/** A policy that needs no future knowledge, so a live edge can run it. */
export type OnlinePolicyName = { [K in PolicyName]: (typeof POLICIES)[K]['offline'] extends false ? K : never }[PolicyName];

export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];
export const ONLINE_POLICY_NAMES = POLICY_NAMES.filter((n): n is OnlinePolicyName => !POLICIES[n].offline);

/** Whether `name` is a registry name (the one check of a policy name from outside: flags, HTTP, traces). */
export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICIES, name);
}

/** Whether `name` is the name of an online policy (one a live edge can run). */
export function isOnlinePolicyName(name: string): name is OnlinePolicyName {
  return isPolicyName(name) && !POLICIES[name].offline;
}

/**
 * Creates a policy by name.
 * @throws RangeError naming the known policies for an unknown name (callers holding an
 *         unchecked string), or for a non-positive capacity.
 */
export function createPolicy(name: PolicyName, options: PolicyOptions): CachePolicy {
  if (!isPolicyName(name)) throw new RangeError(`unknown cache policy '${String(name)}'; known: ${POLICY_NAMES.join(', ')}`);
  if (!(options.capacityBytes > 0)) throw new RangeError(`cache capacity must be positive, got ${options.capacityBytes}`);
  return POLICIES[name].create(options);
}

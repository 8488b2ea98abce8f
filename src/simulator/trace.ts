/**
 * An in-memory request trace with dense object ids, the shape every policy and the
 * simulator consume. Readers (trace-readers.ts) and the VOD workload generator build one
 * through `TraceBuilder`, which renumbers the source's ids 0, 1, 2, … in order of first
 * appearance (object-ids.ts, which holds traces of any size).
 */
import { ObjectIdTable } from './object-ids.js';

/** The trace's own id of each dense object id (an `ObjectIdTable`). */
export interface SourceIds {
  /** Number of objects. */
  readonly size: number;
  /** The source id of dense id `denseId` (0 ≤ denseId < size). @throws RangeError otherwise. */
  get(denseId: number): number | string;
}

export interface Trace {
  readonly name: string;
  /** Dense object id of each request. */
  readonly ids: Uint32Array;
  /** Object size of each request, bytes (1 for traces without sizes). */
  readonly sizes: Float64Array;
  /** Request time of each request, in the source's unit (seconds for the bundled traces). */
  readonly times: Float64Array;
  readonly requests: number;
  readonly uniqueObjects: number;
  /** Sum of each object's first-seen size, bytes (libCacheSim's working-set size). */
  readonly uniqueBytes: number;
  /** Original id of each dense id (for replay URLs, hashing as libCacheSim does, debugging). */
  readonly sourceIds: SourceIds;
}

export class TraceBuilder {
  private ids: Uint32Array;
  private sizes: Float64Array;
  private times: Float64Array;
  private n = 0;
  private readonly objects = new ObjectIdTable();
  private uniqueBytes = 0;

  constructor(expectedRequests = 1 << 16) {
    const cap = Math.max(16, expectedRequests);
    this.ids = new Uint32Array(cap);
    this.sizes = new Float64Array(cap);
    this.times = new Float64Array(cap);
  }

  /**
   * Appends one request.
   * @param sourceId the trace's own object id (numbers above 2^53 must be given as strings).
   * @param sizeBytes object size, bytes (> 0).
   * @param time request time.
   */
  add(sourceId: number | string, sizeBytes: number, time: number): void {
    const objects = this.objects.size;
    const id = this.objects.intern(sourceId);
    if (this.objects.size !== objects) this.uniqueBytes += sizeBytes;
    if (this.n === this.ids.length) this.grow();
    this.ids[this.n] = id;
    this.sizes[this.n] = sizeBytes;
    this.times[this.n] = time;
    this.n++;
  }

  private grow(): void {
    const cap = this.ids.length * 2;
    const ids = new Uint32Array(cap);
    ids.set(this.ids);
    const sizes = new Float64Array(cap);
    sizes.set(this.sizes);
    const times = new Float64Array(cap);
    times.set(this.times);
    this.ids = ids;
    this.sizes = sizes;
    this.times = times;
  }

  build(name: string): Trace {
    return {
      name,
      ids: this.ids.slice(0, this.n),
      sizes: this.sizes.slice(0, this.n),
      times: this.times.slice(0, this.n),
      requests: this.n,
      uniqueObjects: this.objects.size,
      uniqueBytes: this.uniqueBytes,
      sourceIds: this.objects,
    };
  }
}

/**
 * For each request, the index of the next request for the same object (Infinity if none):
 * the oracle Belady needs (libCacheSim oracleGeneral's next_access_vtime, 0-based here).
 */
export function nextAccessIndices(trace: Pick<Trace, 'ids' | 'requests' | 'uniqueObjects'>): Float64Array {
  const next = new Float64Array(trace.requests);
  const seen = new Float64Array(trace.uniqueObjects).fill(Number.POSITIVE_INFINITY);
  for (let i = trace.requests - 1; i >= 0; i--) {
    const id = trace.ids[i]!;
    next[i] = seen[id]!;
    seen[id] = i;
  }
  return next;
}

/** Builds a trace from (id, size) pairs; times are the request indices. For tests and examples. */
export function traceFromPairs(name: string, pairs: readonly (readonly [number | string, number])[]): Trace {
  const b = new TraceBuilder(pairs.length);
  pairs.forEach(([id, size], i) => b.add(id, size, i));
  return b.build(name);
}

/**
 * LRU's hit ratio at every cache size from one pass over a trace: Mattson's stack algorithm
 * (Mattson, Gecsei, Slutz, Traiger, "Evaluation techniques for storage hierarchies", IBM
 * Systems Journal 9(2), 1970), with stack distances in bytes for variable-size objects.
 *
 * A request's stack distance is the bytes of the distinct objects requested since the same
 * object's previous request, plus its own size; LRU of C bytes hits it exactly when that
 * distance is at most C (LRU's inclusion property: the cache holds the longest prefix of the
 * recency stack that fits). Distances are counted with a Fenwick tree over request times, each
 * object's size kept at the time of its latest request: O(n log n) for the whole curve.
 *
 * Exact (equal to simulating LRU at each size) when every object fits the cache and keeps its
 * size, as for object-count traces; when an object is larger than the cache (never admitted)
 * or changes size on a hit (the cache keeps the admitted size), the curve is the stack model's
 * approximation, which test/unit/simulator/miss-ratio-curve.test.ts measures.
 */
import type { Trace } from './trace.js';

export interface MissRatioCurve {
  /** Cache sizes, bytes, ascending. */
  readonly capacityBytes: Float64Array;
  /** LRU's object hit ratio at each size. */
  readonly hitRatio: Float64Array;
  /** LRU's byte hit ratio at each size. */
  readonly byteHitRatio: Float64Array;
}

/** Fenwick (binary indexed) tree of sums over positions 1..n (Fenwick, Software: Practice and Experience 24(3), 1994). */
class FenwickTree {
  private readonly tree: Float64Array;

  constructor(n: number) {
    this.tree = new Float64Array(n + 1);
  }

  add(i: number, delta: number): void {
    for (; i < this.tree.length; i += i & -i) this.tree[i]! += delta;
  }

  /** Sum of positions 1..i. */
  prefix(i: number): number {
    let s = 0;
    for (; i > 0; i -= i & -i) s += this.tree[i]!;
    return s;
  }
}

/**
 * Each request's LRU stack distance in bytes (Infinity for a first request).
 * @returns one distance per request, in trace order.
 */
export function stackDistances(trace: Pick<Trace, 'ids' | 'sizes' | 'requests' | 'uniqueObjects'>): Float64Array {
  const n = trace.requests;
  const tree = new FenwickTree(n);
  const last = new Int32Array(trace.uniqueObjects).fill(-1);
  const lastSize = new Float64Array(trace.uniqueObjects);
  const out = new Float64Array(n);
  let total = 0;
  for (let t = 0; t < n; t++) {
    const id = trace.ids[t]!;
    const size = trace.sizes[t]!;
    const p = last[id]!;
    if (p < 0) {
      out[t] = Number.POSITIVE_INFINITY;
    } else {
      // Bytes of objects whose latest request is after p: everything after position p+1.
      out[t] = total - tree.prefix(p + 1) + size;
      tree.add(p + 1, -lastSize[id]!);
      total -= lastSize[id]!;
    }
    tree.add(t + 1, size);
    total += size;
    last[id] = t;
    lastSize[id] = size;
  }
  return out;
}

/**
 * LRU's hit ratios at the given sizes (ascending) from one pass.
 * @throws RangeError when the sizes are not positive and ascending.
 */
export function lruMissRatioCurve(trace: Trace, capacityBytes: readonly number[]): MissRatioCurve {
  for (let i = 0; i < capacityBytes.length; i++) {
    if (!(capacityBytes[i]! > 0) || (i > 0 && capacityBytes[i]! <= capacityBytes[i - 1]!)) throw new RangeError('cache sizes must be positive and ascending');
  }
  const d = stackDistances(trace);
  // Sort the hits' distances with their sizes, then sweep the sizes.
  const order = Array.from({ length: trace.requests }, (_, i) => i).filter((i) => Number.isFinite(d[i]!));
  order.sort((a, b) => d[a]! - d[b]!);
  let requestedBytes = 0;
  for (let i = 0; i < trace.requests; i++) requestedBytes += trace.sizes[i]!;
  const hitRatio = new Float64Array(capacityBytes.length);
  const byteHitRatio = new Float64Array(capacityBytes.length);
  let k = 0;
  let hits = 0;
  let hitBytes = 0;
  capacityBytes.forEach((c, j) => {
    while (k < order.length && d[order[k]!]! <= c) {
      hits++;
      hitBytes += trace.sizes[order[k]!]!;
      k++;
    }
    hitRatio[j] = trace.requests > 0 ? hits / trace.requests : 0;
    byteHitRatio[j] = requestedBytes > 0 ? hitBytes / requestedBytes : 0;
  });
  return { capacityBytes: Float64Array.from(capacityBytes), hitRatio, byteHitRatio };
}

/** `points` sizes spread evenly on a log scale from `minBytes` to `maxBytes`, rounded to whole bytes, duplicates dropped. */
export function logSpacedSizes(minBytes: number, maxBytes: number, points: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < points; i++) {
    const s = Math.round(minBytes * (maxBytes / minBytes) ** (points === 1 ? 1 : i / (points - 1)));
    if (s > 0 && s !== out.at(-1)) out.push(s);
  }
  return out;
}

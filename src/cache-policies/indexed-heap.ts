/**
 * A binary min-heap of ids with a position index, so an id's priority can change in
 * O(log n). Priorities compare by `key`, then by `tie` (smaller first). Used by the
 * priority-based policies (LFU, GDSF, Belady).
 */
import { growFloat64, growInt32, NONE } from './cache-policy.js';

export class IndexedHeap {
  private heap: Int32Array;
  private pos: Int32Array;
  private key: Float64Array;
  private tie: Float64Array;
  private n = 0;

  constructor(expectedIds: number) {
    const cap = Math.max(16, expectedIds);
    this.heap = new Int32Array(cap);
    this.pos = new Int32Array(cap).fill(NONE);
    this.key = new Float64Array(cap);
    this.tie = new Float64Array(cap);
  }

  get size(): number {
    return this.n;
  }

  has(id: number): boolean {
    return id < this.pos.length && this.pos[id] !== NONE;
  }

  /** The id with the smallest (key, tie), or NONE when empty. */
  peek(): number {
    return this.n > 0 ? this.heap[0]! : NONE;
  }

  keyOf(id: number): number {
    return this.key[id]!;
  }

  /** Inserts or updates an id's priority. */
  set(id: number, key: number, tie: number): void {
    if (id >= this.pos.length) {
      this.pos = growInt32(this.pos, id, NONE);
      this.key = growFloat64(this.key, id);
      this.tie = growFloat64(this.tie, id);
    }
    this.key[id] = key;
    this.tie[id] = tie;
    const p = this.pos[id]!;
    if (p === NONE) {
      if (this.n >= this.heap.length) this.heap = growInt32(this.heap, this.n, 0);
      this.heap[this.n] = id;
      this.pos[id] = this.n;
      this.n++;
      this.up(this.n - 1);
    } else {
      this.up(p);
      this.down(this.pos[id]!);
    }
  }

  /** Removes and returns the minimum id (NONE when empty). */
  pop(): number {
    if (this.n === 0) return NONE;
    const top = this.heap[0]!;
    this.delete(top);
    return top;
  }

  delete(id: number): boolean {
    if (!this.has(id)) return false;
    const p = this.pos[id]!;
    const last = this.heap[--this.n]!;
    this.pos[id] = NONE;
    if (p < this.n) {
      this.heap[p] = last;
      this.pos[last] = p;
      this.up(p);
      this.down(this.pos[last]!);
    }
    return true;
  }

  private less(a: number, b: number): boolean {
    const ka = this.key[a]!;
    const kb = this.key[b]!;
    return ka < kb || (ka === kb && this.tie[a]! < this.tie[b]!);
  }

  private up(i: number): void {
    const h = this.heap;
    const id = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pid = h[parent]!;
      if (!this.less(id, pid)) break;
      h[i] = pid;
      this.pos[pid] = i;
      i = parent;
    }
    h[i] = id;
    this.pos[id] = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const id = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[c]!, id)) break;
      h[i] = h[c]!;
      this.pos[h[i]!] = i;
      i = c;
    }
    h[i] = id;
    this.pos[id] = i;
  }
}

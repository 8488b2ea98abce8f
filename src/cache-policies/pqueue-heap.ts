/**
 * A max-priority binary heap over dense integer ids that moves nodes exactly as libpqueue does
 * (Volkan Yazıcı's `pqueue.c`, the heap libCacheSim's Belady uses at commit aa0fc40): a 1-based
 * array, sift-up while the parent's priority is strictly lower, sift-down to the larger child
 * (the right one only when strictly larger), and change-priority / remove by the same rules.
 * Equal priorities therefore leave the heap in the same shape as libCacheSim's, so the policy on
 * top of it evicts the same object among ties (objects never requested again all share the
 * priority +∞) and its miss counts equal libCacheSim's on variable-size traces too.
 * O(log n) insert, pop, remove and change of priority.
 */
import { growFloat64, growInt32 } from './cache-policy.js';

export class PqueueMaxHeap {
  /** d[1..size-1]: ids in heap order (d[0] unused, as libpqueue). */
  private d: Int32Array;
  /** Position of each id in d, 0 when absent. */
  private pos: Int32Array;
  private pri: Float64Array;
  private end = 1;

  constructor(expectedIds: number) {
    const n = Math.max(16, expectedIds + 1);
    this.d = new Int32Array(n);
    this.pos = new Int32Array(n);
    this.pri = new Float64Array(n);
  }

  /** Ids held. */
  get size(): number {
    return this.end - 1;
  }

  has(id: number): boolean {
    return id < this.pos.length && this.pos[id]! !== 0;
  }

  /** The id with the highest priority (libpqueue's top), or -1 when empty. */
  peek(): number {
    return this.end > 1 ? this.d[1]! : -1;
  }

  priorityOf(id: number): number {
    return this.pri[id]!;
  }

  /** Inserts an absent id. */
  insert(id: number, priority: number): void {
    if (id >= this.pos.length) {
      this.pos = growInt32(this.pos, id, 0);
      this.pri = growFloat64(this.pri, id);
    }
    if (this.end >= this.d.length) this.d = growInt32(this.d, this.end, 0);
    this.pri[id] = priority;
    const i = this.end++;
    this.d[i] = id;
    this.bubbleUp(i);
  }

  /** Removes and returns the top id, or -1 when empty. */
  pop(): number {
    if (this.end <= 1) return -1;
    const head = this.d[1]!;
    this.d[1] = this.d[--this.end]!;
    this.pos[head] = 0;
    if (this.end > 1) this.percolateDown(1);
    return head;
  }

  /** Changes a held id's priority (libpqueue `pqueue_change_priority`). */
  changePriority(id: number, priority: number): void {
    const old = this.pri[id]!;
    this.pri[id] = priority;
    if (old < priority) this.bubbleUp(this.pos[id]!);
    else this.percolateDown(this.pos[id]!);
  }

  /** Removes a held id (libpqueue `pqueue_remove`); false when absent. */
  remove(id: number): boolean {
    if (!this.has(id)) return false;
    const p = this.pos[id]!;
    this.pos[id] = 0;
    const last = this.d[--this.end]!;
    if (p === this.end) return true;
    this.d[p] = last;
    if (this.pri[id]! < this.pri[last]!) this.bubbleUp(p);
    else this.percolateDown(p);
    return true;
  }

  private bubbleUp(i: number): void {
    const moving = this.d[i]!;
    const mp = this.pri[moving]!;
    for (let parent = i >> 1; i > 1 && this.pri[this.d[parent]!]! < mp; i = parent, parent = i >> 1) {
      this.d[i] = this.d[parent]!;
      this.pos[this.d[i]!] = i;
    }
    this.d[i] = moving;
    this.pos[moving] = i;
  }

  private maxChild(i: number): number {
    let c = i << 1;
    if (c >= this.end) return 0;
    if (c + 1 < this.end && this.pri[this.d[c]!]! < this.pri[this.d[c + 1]!]!) c++;
    return c;
  }

  private percolateDown(i: number): void {
    const moving = this.d[i]!;
    const mp = this.pri[moving]!;
    for (let c = this.maxChild(i); c !== 0 && mp < this.pri[this.d[c]!]!; c = this.maxChild(i)) {
      this.d[i] = this.d[c]!;
      this.pos[this.d[i]!] = i;
      i = c;
    }
    this.d[i] = moving;
    this.pos[moving] = i;
  }
}

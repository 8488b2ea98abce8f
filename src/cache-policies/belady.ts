/**
 * Belady's MIN (Belady, "A study of replacement algorithms for a virtual-storage computer",
 * IBM Systems Journal 5(2), 1966) as the offline bound: evicts the object whose next
 * request is farthest in the future, reading each request's next-access index from the
 * trace (libCacheSim oracleGeneral's next_access_vtime). With bypass: a missed object whose
 * next request is farther than every cached object's — or never comes — is not admitted,
 * which makes it optimal for object hit ratio when all objects have the same size.
 *
 * For variable sizes no polynomial policy is optimal (the offline problem is NP-hard); this
 * farthest-next-use rule, not size-aware, is what we report as "belady" for both hit ratio
 * and byte hit ratio, and it is a strong reference rather than a strict ceiling there.
 */
import { PriorityPolicy } from './priority-policy.js';

export class BeladyPolicy extends PriorityPolicy {
  readonly name = 'belady';

  // Min-heap on −nextAccess: the top is the farthest next use.
  protected hitPriority(_id: number, _size: number, nextAccess: number): number {
    return -nextAccess;
  }

  protected missPriority(_id: number, _size: number, nextAccess: number): number {
    return -nextAccess;
  }

  protected override admit(_id: number, sizeBytes: number, nextAccess: number): boolean {
    if (nextAccess === Number.POSITIVE_INFINITY) return false;
    if (this.used + sizeBytes <= this.capacityBytes) return true;
    const farthest = this.heap.peek();
    return farthest < 0 || -this.heap.keyOf(farthest) > nextAccess;
  }
}

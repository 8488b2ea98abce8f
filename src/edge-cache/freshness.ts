/**
 * HTTP freshness for the edge's tiers: how long a stored answer is fresh (RFC 9111 §4.2.1) and
 * how long past that it may still be served when every upstream fails (RFC 5861 §4,
 * stale-if-error). Pure functions; time arrives as an argument.
 */
import type { CachedObject } from './memory-tier.js';

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

/**
 * Whether an expired object may still be served because its upstream failed (RFC 5861 §4
 * stale-if-error): within `stale-if-error` seconds after its freshness ran out.
 * @param nowMs the edge's clock, ms since the epoch.
 */
export function withinStaleIfError(object: CachedObject, nowMs: number): boolean {
  const m = /(?:^|[\s,])stale-if-error=(\d+)/i.exec(object.cacheControl);
  if (!m) return false;
  const freshUntil = object.storedAtMs + freshnessLifetimeS(object.cacheControl) * 1000;
  return nowMs <= freshUntil + Number(m[1]) * 1000;
}

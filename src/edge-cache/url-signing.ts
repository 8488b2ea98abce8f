/**
 * Signed playback URLs: the control plane (`vod sign`, `vod steer`) issues an HMAC token
 * that names a path prefix, an expiry and optionally the client's address; the edge checks it.
 * The token travels as a path segment, `/s/<token>/vod/<title>/master.m3u8`, so every URL a
 * player resolves relative to the playlist (RFC 8216 §4.1 relative URIs; RFC 3986 §5.2)
 * carries it too; the edge strips it before the cache key, so one object is one entry,
 * whoever asked. Format after Akamai EdgeAuth tokens: `exp=<unix s>~acl=<prefix>[~ip=<addr>]~hmac=<hex>`,
 * HMAC-SHA256 (RFC 2104) over everything before `~hmac=`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** Path prefix the token grants, e.g. `/vod/0123456789abcdef/`. */
  readonly pathPrefix: string;
  /** Expiry, seconds since the epoch. */
  readonly expiresAtS: number;
  /** Client address the token is bound to, if any. */
  readonly clientIp?: string;
}

/** Path segment that introduces a token. */
export const TOKEN_PREFIX = '/s/';

function payload(c: TokenClaims): string {
  return `exp=${Math.floor(c.expiresAtS)}~acl=${encodeURIComponent(c.pathPrefix)}${c.clientIp ? `~ip=${encodeURIComponent(c.clientIp)}` : ''}`;
}

/**
 * Issues a token.
 * @throws RangeError for an empty key or a prefix that does not start with '/'.
 */
export function signToken(claims: TokenClaims, key: string): string {
  if (!key) throw new RangeError('signing key must not be empty');
  if (!claims.pathPrefix.startsWith('/')) throw new RangeError('path prefix must start with /');
  const p = payload(claims);
  return `${p}~hmac=${createHmac('sha256', key).update(p).digest('hex')}`;
}

/** A signed URL path: `/s/<token><path>`. */
export function signedPath(path: string, claims: TokenClaims, key: string): string {
  return `${TOKEN_PREFIX}${signToken(claims, key)}${path}`;
}

export type TokenCheck = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/**
 * Splits `/s/<token>/rest` and checks the token against the key, the clock, the requested
 * path and the client address.
 * @param pathname request path (no query string).
 * @param nowS seconds since the epoch.
 * @returns the path with the token removed, or why it is refused.
 */
export function verifySignedPath(pathname: string, key: string, nowS: number, clientIp: string | undefined): TokenCheck {
  if (!pathname.startsWith(TOKEN_PREFIX)) return { ok: false, reason: 'missing token' };
  const end = pathname.indexOf('/', TOKEN_PREFIX.length);
  if (end < 0) return { ok: false, reason: 'malformed token' };
  const token = pathname.slice(TOKEN_PREFIX.length, end);
  const path = pathname.slice(end);
  const at = token.lastIndexOf('~hmac=');
  if (at < 0) return { ok: false, reason: 'malformed token' };
  const body = token.slice(0, at);
  const given = Buffer.from(token.slice(at + 6), 'hex');
  const expected = createHmac('sha256', key).update(body).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  const fields = new Map(body.split('~').map((kv) => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)] as const; }));
  const exp = Number(fields.get('exp'));
  if (!(exp > nowS)) return { ok: false, reason: 'token expired' };
  let acl: string;
  try {
    acl = decodeURIComponent(fields.get('acl') ?? '');
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (!acl || !path.startsWith(acl)) return { ok: false, reason: 'path not covered by token' };
  const ip = fields.get('ip');
  if (ip !== undefined && decodeURIComponent(ip) !== normalizeIp(clientIp)) return { ok: false, reason: 'token bound to another client' };
  return { ok: true, path };
}

/** Strips the IPv4-mapped IPv6 prefix Node reports for IPv4 clients on dual-stack sockets. */
export function normalizeIp(ip: string | undefined): string {
  return (ip ?? '').replace(/^::ffff:/, '');
}

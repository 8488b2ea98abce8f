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
 * @throws RangeError for an empty key, a prefix that does not start with '/', or a prefix or
 *         address with characters the token grammar cannot carry (`!'()*~`).
 */
export function signToken(claims: TokenClaims, key: string): string {
  if (!key) throw new RangeError('signing key must not be empty');
  if (!claims.pathPrefix.startsWith('/')) throw new RangeError('path prefix must start with /');
  const p = payload(claims);
  const token = `${p}~hmac=${createHmac('sha256', key).update(p).digest('hex')}`;
  if (!TOKEN_GRAMMAR.test(token)) throw new RangeError('the path prefix or client address has characters a token cannot carry');
  return token;
}

/** A signed URL path: `/s/<token><path>`. */
export function signedPath(path: string, claims: TokenClaims, key: string): string {
  return `${TOKEN_PREFIX}${signToken(claims, key)}${path}`;
}

/**
 * The whole grammar of a token: `exp=<1-12 digits>~acl=<percent-encoded prefix>[~ip=<percent-encoded
 * address>]~hmac=<64 lower-case hex digits>`, nothing before, between or after. Parsed strictly:
 * a token that verifies must be the very bytes `signToken` wrote.
 */
const TOKEN_GRAMMAR = /^exp=(\d{1,12})~acl=([A-Za-z0-9%._-]+)(?:~ip=([A-Za-z0-9%._:-]+))?~hmac=([0-9a-f]{64})$/;

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
  const m = TOKEN_GRAMMAR.exec(token);
  if (!m) return { ok: false, reason: 'malformed token' };
  const [, expText, aclText, ipText, mac] = m;
  const body = token.slice(0, token.length - '~hmac='.length - 64);
  const given = Buffer.from(mac!, 'hex');
  const expected = createHmac('sha256', key).update(body).digest();
  if (!timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  if (!(Number(expText) > nowS)) return { ok: false, reason: 'token expired' };
  let acl: string;
  let ip: string | undefined;
  try {
    acl = decodeURIComponent(aclText!);
    ip = ipText === undefined ? undefined : decodeURIComponent(ipText);
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (!acl.startsWith('/') || !path.startsWith(acl)) return { ok: false, reason: 'path not covered by token' };
  if (ip !== undefined && ip !== normalizeIp(clientIp)) return { ok: false, reason: 'token bound to another client' };
  return { ok: true, path };
}

/** Strips the IPv4-mapped IPv6 prefix Node reports for IPv4 clients on dual-stack sockets. */
export function normalizeIp(ip: string | undefined): string {
  return (ip ?? '').replace(/^::ffff:/, '');
}

/**
 * HTTP rules for serving stored objects, shared by the origin and the edge: URL → store key,
 * Content-Type, Cache-Control and byte ranges. Pure functions, no I/O.
 */
import rangeParser from 'range-parser';
import { isValidKey } from '../title/object-key.js';
import { VOD_PATH_PREFIX } from '../title/title-address.js';

/** RFC 8216 §4: playlists are `application/vnd.apple.mpegurl`. */
export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
/** Segments and init segments are immutable once published (DESIGN.md HLS conventions). */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/**
 * Playlists: cacheable for 5 minutes and servable stale for a day if the origin errs
 * (RFC 5861 §4 stale-if-error), so a purge or re-publish reaches viewers within minutes.
 */
export const PLAYLIST_CACHE_CONTROL = 'public, max-age=300, stale-if-error=86400';

/**
 * Content-Type of a stored object from its key: playlists per RFC 8216 §4, fMP4 segments and
 * init segments `audio/mp4` under an audio rendition folder and `video/mp4` otherwise
 * (RFC 4337 §2).
 */
export function contentTypeFor(key: string): string {
  const dot = key.lastIndexOf('.');
  const ext = dot >= 0 ? key.slice(dot + 1).toLowerCase() : '';
  switch (ext) {
    case 'm3u8':
      return PLAYLIST_CONTENT_TYPE;
    case 'm4s':
    case 'mp4':
    case 'm4a':
    case 'm4v':
      return /(^|\/)audio[^/]*\/[^/]+$/.test(key) ? 'audio/mp4' : 'video/mp4';
    case 'json':
      return 'application/json; charset=utf-8';
    case 'vtt':
      return 'text/vtt; charset=utf-8';
    case 'jpg':
    case 'jpeg':
      return 'image/jpeg';
    default:
      return 'application/octet-stream';
  }
}

/** Cache-Control of a stored object: playlists and records revalidate, media is immutable. */
export function cacheControlFor(key: string): string {
  if (key.endsWith('.m3u8') || key.endsWith('.json')) return PLAYLIST_CACHE_CONTROL;
  return IMMUTABLE_CACHE_CONTROL;
}

export type RangeResolution =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/**
 * Resolves a Range header against an object of `sizeBytes` (RFC 9110 §14), with jshttp's
 * range-parser doing the parsing:
 * - absent, malformed, not `bytes`, or several ranges → the whole object (200); RFC 9110
 *   §14.2 lets a server ignore Range, and we do not send multipart/byteranges;
 * - one satisfiable range → that range, clamped to the object (206, §14.4 Content-Range);
 * - no satisfiable range → 416 with `Content-Range: bytes *\/size` (§15.5.17).
 * @returns inclusive byte offsets for a partial answer.
 */
export function resolveRange(header: string | undefined, sizeBytes: number): RangeResolution {
  if (header === undefined || header === '') return { kind: 'full' };
  if (header.length > 1024) return { kind: 'full' };
  const parsed = rangeParser(sizeBytes, header, { combine: true });
  if (parsed === -2) return { kind: 'full' }; // malformed
  if (parsed === -1) {
    const specs = header.slice(header.indexOf('=') + 1).split(',');
    // A suffix range longer than the object means the whole object (RFC 9110 §14.1.2: "If the
    // selected representation is shorter than the specified suffix-length, the entire
    // representation is used"); range-parser calls it unsatisfiable. `bytes=-0` stays 416.
    if (specs.length === 1 && sizeBytes > 0) {
      const suffix = /^\s*-(\d+)\s*$/.exec(specs[0]!);
      if (suffix && Number(suffix[1]) > 0) return { kind: 'partial', start: 0, end: sizeBytes - 1 };
    }
    // range-parser also says -1 for a syntactically invalid spec such as `bytes=9-1`
    // (last-pos < first-pos, RFC 9110 §14.1.1); such a header is ignored, not answered 416.
    const invalid = specs.some((spec) => {
      const m = /^\s*(\d+)-(\d+)\s*$/.exec(spec);
      return m !== null && Number(m[2]) < Number(m[1]);
    });
    return invalid ? { kind: 'full' } : { kind: 'unsatisfiable' };
  }
  if (parsed.type !== 'bytes' || parsed.length !== 1) return { kind: 'full' };
  const r = parsed[0]!;
  return { kind: 'partial', start: r.start, end: r.end };
}

export type VodPathResult = { readonly ok: true; readonly key: string } | { readonly ok: false; readonly status: 400 | 404; readonly reason: string };

/**
 * Maps a request path `/vod/<titleId>/<name>...` to the store key `vod/<titleId>/<name>...`,
 * percent-decoding each segment. Anything that is not a valid store key (`..`, hidden names,
 * encoded slashes, bad percent-encoding) is refused, so no path can escape the store.
 * @param pathname the URL path without query string.
 */
export function vodKeyFromPath(pathname: string): VodPathResult {
  if (!pathname.startsWith(VOD_PATH_PREFIX)) return { ok: false, status: 404, reason: 'not a /vod/ path' };
  const parts = pathname.slice(1).split('/');
  const decoded: string[] = [];
  for (const part of parts) {
    try {
      decoded.push(decodeURIComponent(part));
    } catch {
      return { ok: false, status: 400, reason: 'malformed percent-encoding in URL' };
    }
  }
  const key = decoded.join('/');
  if (decoded.length < 3 || decoded.some((p) => p.includes('/')) || !isValidKey(key)) return { ok: false, status: 400, reason: 'invalid path' };
  return { ok: true, key };
}

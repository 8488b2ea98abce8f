/**
 * The one answer to a GET or HEAD of a stored object, shared by the origin (bytes streamed
 * from the object store) and the edge (bytes in its cache): conditional GET, one byte range,
 * HEAD. The caller sets the representation's own headers (Content-Type, Cache-Control, ETag,
 * Last-Modified, Accept-Ranges, ...) first, then asks this module what to send.
 */
import type http from 'node:http';
import { resolveRange } from './http-object.js';

/** Inclusive byte offsets of the part of an object to send (as HTTP ranges). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Whether an If-None-Match header matches a strong `etag` (RFC 9110 §13.1.2: a list of entity
 * tags or `*`).
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string | undefined): boolean {
  if (!header || !etag) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === etag || tag === '*';
  });
}

/**
 * Whether an If-Range condition holds (RFC 9110 §13.1.5): an entity tag that strongly matches
 * `etag` (a weak tag never does), or an HTTP-date equal to `lastModified`; anything else — a stale
 * validator, a malformed value — is false, and the Range header must then be ignored (the whole
 * object, 200), so a client resuming a download never splices bytes of another representation.
 */
export function ifRangeHolds(header: string, etag: string | undefined, lastModified: string | undefined): boolean {
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return etag !== undefined && !etag.startsWith('W/') && value === etag;
  if (!lastModified || !/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return false;
  const at = Date.parse(value);
  return Number.isFinite(at) && at === Date.parse(lastModified);
}

/**
 * Sets the status, Content-Range and Content-Length of the answer to `req` for an object of
 * `sizeBytes` whose entity tag is `etag`, and ends the response when no body follows:
 * - 304 Not Modified when If-None-Match matches (RFC 9110 §13.1.2, §15.4.5); ended;
 * - Range ignored when an If-Range condition does not hold (ifRangeHolds; the Last-Modified it
 *   compares with is the one the caller set on `res`);
 * - 416 with `Content-Range: bytes *\/size` when no range is satisfiable (§15.5.17); ended;
 * - 206 with `Content-Range: bytes a-b/size` for one satisfiable range (§14.4, §15.3.7);
 * - else 200 with the whole object (malformed or multiple ranges included: §14.2 lets a server
 *   ignore Range; see `resolveRange`);
 * - a HEAD gets the same status and headers and is ended (§9.3.2).
 * @returns the bytes the caller must now send (and then end the response), or undefined when
 *          the response is complete. An empty object gives `{ start: 0, end: -1 }`.
 */
export function answerObjectRequest(req: http.IncomingMessage, res: http.ServerResponse, sizeBytes: number, etag: string | undefined): ByteRange | undefined {
  if (ifNoneMatchMatches(req.headers['if-none-match'], etag)) {
    res.statusCode = 304;
    res.end();
    return undefined;
  }
  const ifRange = [req.headers['if-range']].flat()[0];
  const lastModified = res.getHeader('Last-Modified');
  const rangeHeader = ifRange !== undefined && !ifRangeHolds(ifRange, etag, typeof lastModified === 'string' ? lastModified : undefined) ? undefined : req.headers.range;
  const range = resolveRange(rangeHeader, sizeBytes);
  if (range.kind === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${sizeBytes}`);
    res.end();
    return undefined;
  }
  let start = 0;
  let end = sizeBytes - 1;
  if (range.kind === 'partial') {
    ({ start, end } = range);
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${sizeBytes}`);
  } else {
    res.statusCode = 200;
  }
  res.setHeader('Content-Length', String(Math.max(0, end - start + 1)));
  if (req.method === 'HEAD') {
    res.end();
    return undefined;
  }
  return { start, end };
}

/**
 * Answers with a JSON error `{"error": reason}` on the bare node:http response (the edge's
 * lean path; express routes use `res.status(n).json(...)`), with CORS so a player can read it.
 */
export function sendJsonError(res: http.ServerResponse, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.end(body);
}

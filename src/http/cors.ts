/**
 * CORS for every server: players run on other origins than the edges and origins they fetch
 * from (Fetch standard §3.2, CORS protocol).
 */
import type http from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/** Headers a browser may read from cross-origin responses (Fetch standard, CORS). */
export const CORS_EXPOSED_HEADERS = 'Content-Length, Content-Range, Accept-Ranges, ETag, X-Cache, Via, Age';

/** Sets the headers every cross-origin answer needs (any origin may read; which headers it may read). */
export function setCorsHeaders(res: http.ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
}

/** Express middleware: CORS headers on every answer, and preflight requests answered 204 (Fetch standard §3.2). */
export function corsMiddleware(req: Request, res: Response, next: NextFunction): void {
  setCorsHeaders(res);
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Modified-Since, Content-Type');
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
}

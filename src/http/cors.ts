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

/** What a server lets cross-origin requests do (the preflight's answer). */
export interface CorsPolicy {
  /** Access-Control-Allow-Methods. */
  readonly methods: string;
  /** Access-Control-Allow-Headers: the request headers a page may send. */
  readonly allowHeaders: string;
  /** Access-Control-Max-Age: how long a browser may cache the preflight, s. */
  readonly maxAgeS: number;
}

/** The media servers' policy: reads with ranges and revalidation, beacons (POST). */
export const MEDIA_CORS_POLICY: CorsPolicy = Object.freeze({ methods: 'GET, HEAD, POST, OPTIONS', allowHeaders: 'Range, If-Range, If-None-Match, If-Modified-Since, Content-Type', maxAgeS: 86_400 });

/**
 * Express middleware for a policy: CORS headers on every answer, and preflight requests
 * answered 204 with the policy (Fetch standard §3.2, CORS protocol).
 */
export function corsMiddlewareFor(policy: CorsPolicy): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    setCorsHeaders(res);
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', policy.methods);
      res.setHeader('Access-Control-Allow-Headers', policy.allowHeaders);
      res.setHeader('Access-Control-Max-Age', String(policy.maxAgeS));
      res.status(204).end();
      return;
    }
    next();
  };
}

/** The media servers' CORS middleware (MEDIA_CORS_POLICY). */
export const corsMiddleware = corsMiddlewareFor(MEDIA_CORS_POLICY);

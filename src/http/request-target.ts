/**
 * Request targets (RFC 9112 §3.2): servers see the origin-form (`/path?query`) from browsers,
 * and must also accept the absolute-form (`http://host/path`, §3.2.2), whose host they ignore
 * here — no upstream URL is ever built from a client's host (no open proxy). Anything else
 * (another scheme, authority-form, garbage) is a 400.
 */
import type { NextFunction, Request, Response } from 'express';

/**
 * The origin-form of a request target: `/path?query` as given, or the path and query of an
 * http(s) absolute-form target.
 * @returns undefined for targets that are neither (the caller answers 400).
 */
export function originFormTarget(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  if (target === '*') return undefined; // asterisk-form: OPTIONS * only; nothing to serve here
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return `${url.pathname}${url.search}`;
}

/**
 * Express middleware: rewrites `req.url` to its origin-form (originFormTarget) or answers 400
 * with one JSON sentence. The origin and the key server put it first.
 */
export function originFormMiddleware(req: Request, res: Response, next: NextFunction): void {
  const target = originFormTarget(req.url);
  if (target === undefined) {
    res.status(400).json({ error: 'The request target is not a path or an http(s) URL.' });
    return;
  }
  req.url = target;
  next();
}

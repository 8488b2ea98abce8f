/**
 * How servers answer errors: one JSON sentence, the right status, never a stack trace (express's
 * default handler prints the stack in the body and on stderr outside production), and one log
 * line per event, rate-limited so a fuzzer or a broken client cannot flood the log.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';

/** The one sentence a client gets for an error express or a body parser raised. */
export function clientMessage(err: { status?: number; type?: string }, status: number): string {
  if (err.type === 'entity.parse.failed') return 'The request body is not valid JSON.';
  if (err.type === 'entity.too.large') return 'The request body is too large.';
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') return 'The request body has an unsupported encoding.';
  if (status === 404) return 'Not found.';
  if (status < 500) return 'Bad request.';
  return 'Internal error.';
}

/**
 * Express's last error handler: 4xx from the error's status (body parsers set 400 / 413 / 415)
 * else 500, answered as `{"error": "<one sentence>"}`; logs one rate-limited line.
 */
export function jsonErrorHandler(log: Logger, what: string): (err: Error & { status?: number; statusCode?: number; type?: string }, req: Request, res: Response, next: NextFunction) => void {
  const limited = new RateLimitedLog(log);
  return (err, req, res, _next) => {
    const given = err.status ?? err.statusCode;
    const status = given !== undefined && given >= 400 && given < 500 ? given : 500;
    limited.warn({ status, method: req.method, path: req.path.slice(0, 200), err: (err.message ?? String(err)).split('\n')[0]!.slice(0, 200) }, `${what}: request failed`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(status).json({ error: clientMessage(err, status) });
  };
}

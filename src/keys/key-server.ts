/**
 * `vod keys`: the key server of protected titles (HLS AES-128, RFC 8216 §5.2). Players fetch a
 * key period's content key from the URI in the title's `EXT-X-KEY` tags:
 *
 * - `GET /keys/<titleId>/<period>` with a playback token — the same HMAC token the edges
 *   check (http/url-signing.ts, `vod sign`), whose path prefix must cover
 *   `/vod/<titleId>/` — given as `Authorization: Bearer <token>` (what the player page sends)
 *   or `?token=<token>` (URL-encoded). Answers the 16 key bytes, `application/octet-stream`,
 *   `Cache-Control: no-store` (never kept by a cache, RFC 9111 §5.2.2.5);
 * - 403 without a valid token (missing, bad signature, expired, another title, another client
 *   address), 404 for a title with no key seed (asked only after the token is good, so the
 *   server does not tell strangers which titles exist), 400 for a malformed path;
 * - CORS, with `Authorization` allowed in preflights (the player runs on the edge's origin).
 *
 * Keys are derived from the title's key seed (content-keys.ts), which only this server and the
 * encode workers read; the origin and the edges have no route to `keys/`.
 */
import express, { type Request, type Response } from 'express';
import { jsonErrorHandler } from '../http/error-answers.js';
import { corsMiddlewareFor } from '../http/cors.js';
import { listen, type RunningServer } from '../http/listen.js';
import { originFormMiddleware } from '../http/request-target.js';
import { normalizeIp, verifySignedPath, TOKEN_PREFIX } from '../http/url-signing.js';
import type { ObjectStore } from '../origin/object-store.js';
import { TITLE_ID_PATTERN, VOD_PATH_PREFIX } from '../title/title-address.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { deriveContentKey, KEY_SEED_BYTES, keySeedObjectKey, MAX_KEY_PERIOD } from './content-keys.js';

export interface KeyServerOptions {
  readonly store: ObjectStore;
  /** HMAC key of playback tokens (VOD_SIGNING_KEY): the same as the edges'. */
  readonly signingKey: string;
  readonly log?: Logger;
  /** Clock, ms since the epoch (tests). */
  readonly nowMs?: () => number;
}

/** The token of a key request: the Bearer credentials (RFC 6750 §2.1), else `?token=` (§2.3). */
function tokenOf(req: Request): string | undefined {
  const auth = req.headers.authorization;
  const bearer = auth ? /^Bearer ([^\s]+)$/i.exec(auth.trim())?.[1] : undefined;
  if (bearer) return bearer;
  const q = req.query.token;
  return typeof q === 'string' && q.length > 0 ? q : undefined;
}

/** Builds the key server's express application (see the module comment). */
export function createKeyServerApp(options: KeyServerOptions): express.Express {
  const log = options.log ?? silentLogger;
  const refusals = new RateLimitedLog(log);
  const nowMs = options.nowMs ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(originFormMiddleware);
  // Keys are never cached, not even a refusal; the page sends its token in Authorization.
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(corsMiddlewareFor({ methods: 'GET, OPTIONS', allowHeaders: 'Authorization', maxAgeS: 600 }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/keys/:titleId/:period', async (req: Request, res: Response) => {
    const titleId = String(req.params.titleId);
    const periodText = String(req.params.period);
    if (!TITLE_ID_PATTERN.test(titleId) || !/^\d{1,7}$/.test(periodText) || Number(periodText) > MAX_KEY_PERIOD) {
      res.status(400).json({ error: 'expected /keys/<16 hex digit title id>/<key period>' });
      return;
    }
    const token = tokenOf(req);
    const check = token
      ? verifySignedPath(`${TOKEN_PREFIX}${token}${VOD_PATH_PREFIX}${titleId}/`, options.signingKey, nowMs() / 1000, normalizeIp(req.socket.remoteAddress))
      : ({ ok: false, reason: 'missing token' } as const);
    if (!check.ok) {
      refusals.warn({ titleId, reason: check.reason, client: normalizeIp(req.socket.remoteAddress) }, 'key request refused');
      res.status(403).json({ error: `a valid playback token for this title is required (${check.reason})` });
      return;
    }
    const seed = await options.store.get(keySeedObjectKey(titleId));
    if (!seed || seed.length !== KEY_SEED_BYTES) {
      res.status(404).json({ error: 'no keys for this title' });
      return;
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.end(deriveContentKey(seed, titleId, Number(periodText)));
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(jsonErrorHandler(log, 'key server'));
  return app;
}

/**
 * Starts the key server.
 * @throws RangeError without a signing key; Error "port … is already in use" from listen.
 */
export async function startKeyServer(options: KeyServerOptions & { host: string; port: number }): Promise<RunningServer> {
  if (!options.signingKey) throw new RangeError('the key server needs a signing key (VOD_SIGNING_KEY)');
  return listen(createKeyServerApp(options), options.host, options.port);
}

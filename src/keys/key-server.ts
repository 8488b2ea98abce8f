/**
 * `vod keys`: the key server of protected titles (HLS AES-128, RFC 8216 §5.2). Players fetch a
 * key period's content key from the URI in the title's `EXT-X-KEY` tags:
 *
 * - `GET /keys/<titleId>/<period>` with a playback token — the same HMAC token the edges
 *   check (http/url-signing.ts, `vod sign`), whose path prefix must cover
 *   `/vod/<titleId>/` — given as `Authorization: Bearer <token>` (what the player page sends)
 *   or `?token=<token>` (URL-encoded). Answers the 16 key bytes, `application/octet-stream`,
 *   `Cache-Control: no-store` (never kept by a cache, RFC 9111 §5.2.2.5);
 * - `POST /clearkey/<titleId>`, the W3C Clear Key license of a `cenc` title (EME §9.1.3–9.1.4):
 *   the body is the CDM's license request `{"kids":["<base64url key id>",…],"type":…}`, the
 *   answer the JSON Web Key set `{"keys":[{"kty":"oct","kid":…,"k":…}],"type":"temporary"}` of
 *   the named key ids that are the title's (404 when none is), same token rule and caching;
 * - 403 without a valid token (missing, bad signature, expired, another title, another client
 *   address), 404 for a title with no key seed (asked only after the token is good, so the
 *   server does not tell strangers which titles exist), 400 for a malformed path;
 * - CORS, with `Authorization` allowed in preflights (the player runs on the edge's origin).
 *
 * Keys are derived from the title's key seed (content-keys.ts), which only this server and the
 * encode workers read; the origin and the edges have no route to `keys/`.
 */
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
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
import { CLEAR_KEY_PATH, deriveCencKey, deriveContentKey, KEY_SEED_BYTES, keySeedObjectKey, MAX_KEY_PERIOD } from './content-keys.js';

/** Largest Clear Key license request accepted, bytes (a CDM's request names a handful of key ids). */
const MAX_LICENSE_REQUEST_BYTES = 16 * 1024;

/** A Clear Key license request (W3C EME §9.1.3): base64url key ids, the session type. */
const clearKeyRequestSchema = z.object({
  kids: z.array(z.string().regex(/^[A-Za-z0-9_-]{22}$/)).min(1).max(64),
  type: z.string().optional(),
});

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
  app.use(corsMiddlewareFor({ methods: 'GET, POST, OPTIONS', allowHeaders: 'Authorization, Content-Type', maxAgeS: 600 }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  /**
   * The title's key seed when the request carries a valid token for it; otherwise answers 403
   * (bad token) or 404 (no seed: asked only after the token is good) and returns undefined.
   */
  const authorizedSeed = async (req: Request, res: Response, titleId: string): Promise<Buffer | undefined> => {
    const token = tokenOf(req);
    const check = token
      ? verifySignedPath(`${TOKEN_PREFIX}${token}${VOD_PATH_PREFIX}${titleId}/`, options.signingKey, nowMs() / 1000, normalizeIp(req.socket.remoteAddress))
      : ({ ok: false, reason: 'missing token' } as const);
    if (!check.ok) {
      refusals.warn({ titleId, reason: check.reason, client: normalizeIp(req.socket.remoteAddress) }, 'key request refused');
      res.status(403).json({ error: `a valid playback token for this title is required (${check.reason})` });
      return undefined;
    }
    const seed = await options.store.get(keySeedObjectKey(titleId));
    if (!seed || seed.length !== KEY_SEED_BYTES) {
      res.status(404).json({ error: 'no keys for this title' });
      return undefined;
    }
    return seed;
  };

  app.get('/keys/:titleId/:period', async (req: Request, res: Response) => {
    const titleId = String(req.params.titleId);
    const periodText = String(req.params.period);
    if (!TITLE_ID_PATTERN.test(titleId) || !/^\d{1,7}$/.test(periodText) || Number(periodText) > MAX_KEY_PERIOD) {
      res.status(400).json({ error: 'expected /keys/<16 hex digit title id>/<key period>' });
      return;
    }
    const seed = await authorizedSeed(req, res, titleId);
    if (!seed) return;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.end(deriveContentKey(seed, titleId, Number(periodText)));
  });

  app.post(`/${CLEAR_KEY_PATH}/:titleId`, express.raw({ type: () => true, limit: MAX_LICENSE_REQUEST_BYTES }), async (req: Request, res: Response) => {
    const titleId = String(req.params.titleId);
    if (!TITLE_ID_PATTERN.test(titleId)) {
      res.status(400).json({ error: `expected /${CLEAR_KEY_PATH}/<16 hex digit title id>` });
      return;
    }
    // The token first: a client without one learns nothing, not even what a request looks like.
    const seed = await authorizedSeed(req, res, titleId);
    if (!seed) return;
    let request: z.infer<typeof clearKeyRequestSchema>;
    try {
      request = clearKeyRequestSchema.parse(JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : ''));
    } catch {
      res.status(400).json({ error: 'expected a Clear Key license request: {"kids":["<base64url key id>"],"type":"temporary"}' });
      return;
    }
    const { key, keyId } = deriveCencKey(seed, titleId);
    const kid = keyId.toString('base64url');
    if (!request.kids.includes(kid)) {
      res.status(404).json({ error: 'none of these key ids belongs to this title' });
      return;
    }
    res.json({ keys: [{ kty: 'oct', kid, k: key.toString('base64url') }], type: 'temporary' });
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

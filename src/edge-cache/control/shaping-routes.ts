/**
 * Per-session bandwidth shaping (shaping.ts): `GET /shape/traces` lists the throughput traces,
 * `POST /shape {"session", "rate" | "trace"}` shapes a session, `GET /shape/<session>` reads its
 * current rate, `DELETE /shape/<session>` stops shaping it.
 */
import express from 'express';
import { parseRateBps, RateProfile, type ShapingSessions } from '../shaping.js';

/** Session ids: what the player's `vod_session` cookie may hold. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function shapingRoutes(shaping: ShapingSessions): express.Router {
  const router = express.Router();
  router.get('/shape/traces', async (_req, res) => {
    res.json({ traces: await shaping.listTraces() });
  });
  router.post('/shape', express.json({ limit: '4kb' }), async (req, res) => {
    const body = (req.body ?? {}) as { session?: unknown; rate?: unknown; trace?: unknown };
    if (typeof body.session !== 'string' || !SESSION_ID.test(body.session)) {
      res.status(400).json({ error: 'give a session id of 1-64 letters, digits, _ or -' });
      return;
    }
    let profile: RateProfile;
    if (typeof body.trace === 'string') {
      try {
        profile = RateProfile.fromTrace(await shaping.loadTrace(body.trace));
      } catch (err) {
        res.status(400).json({ error: (err as Error).message });
        return;
      }
    } else {
      const rate = typeof body.rate === 'string' || typeof body.rate === 'number' ? parseRateBps(body.rate) : undefined;
      if (!rate) {
        res.status(400).json({ error: 'give a rate such as "1500k" or a trace name from /shape/traces' });
        return;
      }
      profile = RateProfile.fixed(rate);
    }
    const session = shaping.set(body.session, profile);
    res.json({ session: session.id, profile: profile.describe() });
  });
  router.get('/shape/:session', (req, res) => {
    const s = shaping.get(String(req.params.session));
    if (!s) {
      // Not shaped is a normal state (the player polls it), not an error.
      res.json({ session: String(req.params.session), rateBps: null });
      return;
    }
    res.json({ session: s.id, rateBps: shaping.currentRateBps(s), elapsedS: shaping.elapsedS(s), profile: s.profile.describe() });
  });
  router.delete('/shape/:session', (req, res) => {
    res.json({ removed: shaping.delete(String(req.params.session)) });
  });
  return router;
}

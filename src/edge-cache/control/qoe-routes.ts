/**
 * QoE beacons from players (qoe.ts): `POST /qoe` records one (validated with zod; the page
 * sends them with navigator.sendBeacon, hence text/plain too), `GET /qoe/sessions` lists the
 * sessions' summaries.
 */
import express from 'express';
import { qoeBeaconSchema, type QoeAggregator } from '../qoe.js';

export function qoeRoutes(qoe: QoeAggregator): express.Router {
  const router = express.Router();
  router.post('/qoe', express.json({ limit: '64kb', type: ['application/json', 'text/plain'] }), (req, res) => {
    const parsed = qoeBeaconSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: `invalid QoE beacon: ${parsed.error.issues[0]?.message ?? 'unknown'}` });
      return;
    }
    qoe.record(parsed.data);
    res.status(204).end();
  });
  router.get('/qoe/sessions', (_req, res) => {
    res.json({ sessions: qoe.list() });
  });
  return router;
}

/**
 * `GET /healthz` (the edge's name, policy, tier sizes and upstream breakers: what steering and
 * operators poll) and `GET /metrics` (Prometheus text format, prom-client).
 */
import express from 'express';
import type { DiskTier } from '../disk-tier.js';
import type { EdgeMetrics } from '../edge-metrics.js';
import type { CacheTier } from '../memory-tier.js';
import type { UpstreamPool } from '../upstream-pool.js';

/** What the health routes read from the edge. */
export interface HealthSource {
  readonly name: string;
  readonly memory: CacheTier;
  readonly disk: DiskTier | undefined;
  readonly upstreams: UpstreamPool;
  readonly metrics: EdgeMetrics;
}

export function healthRoutes(edge: HealthSource): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({
      ok: true,
      name: edge.name,
      policy: edge.memory.policyName,
      cacheBytes: edge.memory.maxBytes,
      cache: edge.memory.size(),
      disk: edge.disk ? { ...edge.disk.size(), maxBytes: edge.disk.maxBytes } : null,
      upstreams: edge.upstreams.states(),
    });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', edge.metrics.registry.contentType);
    res.send(await edge.metrics.registry.metrics());
  });
  return router;
}

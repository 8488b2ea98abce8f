/**
 * The player page (player-demo/) at `/player/`, with hls.js and Chart.js from node_modules;
 * `/` redirects to it. Served only when the edge is given the page's folder.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import express from 'express';

const require = createRequire(import.meta.url);

export function playerRoutes(playerDir: string): express.Router {
  const router = express.Router();
  router.get('/', (_req, res) => res.redirect(302, '/player/'));
  const hlsDist = path.dirname(require.resolve('hls.js/dist/hls.min.js'));
  router.use('/player/vendor', express.static(hlsDist, { index: false, maxAge: '1h' }));
  // chart.js exports only its ES entry; its UMD build sits beside it in dist/.
  router.use('/player/vendor-chart', express.static(path.dirname(require.resolve('chart.js')), { index: false, maxAge: '1h' }));
  router.use('/player', express.static(playerDir, { index: 'index.html', maxAge: 0 }));
  return router;
}

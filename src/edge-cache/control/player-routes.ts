/**
 * The player page (player-demo/) at `/player/`, with hls.js and Chart.js from node_modules and
 * our ABR rules as an hls.js controller (`/player/abr.js`, src/abr/hlsjs-abr-controller.ts
 * bundled by esbuild on first request); `/` redirects to it. Served only when the edge is
 * given the page's folder.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import express from 'express';

/** The ABR controller module the page imports (bundled with the rules it runs). */
const ABR_CONTROLLER_SOURCE = path.resolve(import.meta.dirname, '../../abr/hlsjs-abr-controller.ts');

let abrBundle: Promise<string> | undefined;

/** The controller as one ES module for the browser, built once per process. */
function abrControllerBundle(): Promise<string> {
  abrBundle ??= build({ entryPoints: [ABR_CONTROLLER_SOURCE], bundle: true, format: 'esm', target: 'es2020', write: false, logLevel: 'silent' }).then((r) => r.outputFiles[0]!.text);
  return abrBundle;
}

const require = createRequire(import.meta.url);

export function playerRoutes(playerDir: string): express.Router {
  const router = express.Router();
  router.get('/', (_req, res) => res.redirect(302, '/player/'));
  const hlsDist = path.dirname(require.resolve('hls.js/dist/hls.min.js'));
  router.use('/player/vendor', express.static(hlsDist, { index: false, maxAge: '1h' }));
  // chart.js exports only its ES entry; its UMD build sits beside it in dist/.
  router.use('/player/vendor-chart', express.static(path.dirname(require.resolve('chart.js')), { index: false, maxAge: '1h' }));
  router.get('/player/abr.js', (_req, res) => {
    abrControllerBundle().then(
      (code) => res.type('text/javascript').set('Cache-Control', 'no-cache').send(code),
      () => res.status(500).type('text/plain').send('the ABR controller could not be built'),
    );
  });
  router.use('/player', express.static(playerDir, { index: 'index.html', maxAge: 0 }));
  return router;
}

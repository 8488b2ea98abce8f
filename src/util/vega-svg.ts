/**
 * Renders a Vega-Lite spec to an SVG string with Vega in Node (no browser, no canvas): the
 * one place charts are drawn (hit-ratio plots, RD plots, benchmark figures).
 */
import type { TopLevelSpec } from 'vega-lite';

/**
 * @returns the SVG document as a string.
 * @throws Error when the spec does not compile.
 */
export async function renderVegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: the two libraries take about 0.3 s to import, which every `vod` command
  // would pay at start-up (most draw no chart).
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

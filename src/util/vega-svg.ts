/**
 * Renders a Vega-Lite spec to an SVG string with Vega in Node (no browser, no canvas): the
 * one place charts are drawn (hit-ratio plots, RD plots, benchmark figures).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * @returns the SVG document as a string.
 * @throws Error when the spec does not compile.
 */
export async function renderVegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

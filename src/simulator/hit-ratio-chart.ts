/**
 * The hit-ratio plot: object hit ratio and byte hit ratio against cache size, one line per
 * policy, Belady dashed as the reference ceiling. Built as a Vega-Lite spec and rendered to
 * SVG by Vega in Node (no browser, no canvas).
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLiteSvg } from '../util/vega-svg.js';
import type { HitRatioRow } from './hit-ratio-grid.js';
import type { MissRatioCurve } from './miss-ratio-curve.js';

/** Vega-Lite spec of the two-panel chart (exported so tests can inspect it). */
export function hitRatioChartSpec(rows: readonly HitRatioRow[], title: string): TopLevelSpec {
  const values = rows.flatMap((r) => [
    { policy: r.policy, sizePercent: r.capacityFraction * 100, capacityBytes: r.capacityBytes, metric: 'object hit ratio', value: r.hitRatio, offline: r.policy === 'belady' },
    { policy: r.policy, sizePercent: r.capacityFraction * 100, capacityBytes: r.capacityBytes, metric: 'byte hit ratio', value: r.byteHitRatio, offline: r.policy === 'belady' },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 13 },
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['object hit ratio', 'byte hit ratio'] } },
    spec: {
      width: 380,
      height: 260,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'sizePercent', type: 'quantitative', scale: { type: 'log', nice: false, padding: 12 }, title: 'cache size (% of unique bytes, log scale)' },
        y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: 'ratio', axis: { format: '%' } },
        color: { field: 'policy', type: 'nominal', title: 'policy' },
        strokeDash: { field: 'offline', type: 'nominal', legend: null, scale: { domain: [false, true], range: [[1, 0], [6, 4]] } },
        tooltip: [{ field: 'policy' }, { field: 'sizePercent', title: 'size %' }, { field: 'value', format: '.4f' }],
      },
    },
    config: { background: 'white' },
  } as TopLevelSpec;
}

/** Renders the chart to an SVG string. */
export async function renderHitRatioSvg(rows: readonly HitRatioRow[], title: string): Promise<string> {
  return renderVegaLiteSvg(hitRatioChartSpec(rows, title));
}

/** Vega-Lite spec of LRU's curve: object and byte hit ratio at every size (log scale), one pass (miss-ratio-curve.ts). */
export function missRatioCurveSpec(curve: MissRatioCurve, uniqueBytes: number, title: string): TopLevelSpec {
  const values = [...curve.capacityBytes].flatMap((c, i) => [
    { sizePercent: (c / uniqueBytes) * 100, capacityBytes: c, metric: 'object hit ratio', value: curve.hitRatio[i] },
    { sizePercent: (c / uniqueBytes) * 100, capacityBytes: c, metric: 'byte hit ratio', value: curve.byteHitRatio[i] },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 13 },
    data: { values },
    width: 480,
    height: 280,
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'sizePercent', type: 'quantitative', scale: { type: 'log', nice: false }, title: 'cache size (% of unique bytes, log scale)' },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: 'LRU hit ratio', axis: { format: '%' } },
      color: { field: 'metric', type: 'nominal', title: null },
      tooltip: [{ field: 'capacityBytes', title: 'bytes', format: ',.0f' }, { field: 'sizePercent', title: 'size %', format: '.3f' }, { field: 'value', format: '.4f' }],
    },
    config: { background: 'white' },
  } as TopLevelSpec;
}

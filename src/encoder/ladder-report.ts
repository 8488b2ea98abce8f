/**
 * The ladder report: what `ladder.json` holds for every published title (RD points, hull,
 * chosen rungs with measured bitrate and quality, analysis settings and time spent), the
 * table `vod ladder` prints, and the RD plot (Vega-Lite rendered to SVG by Vega in Node).
 */
import Table from 'cli-table3';
import type { TopLevelSpec } from 'vega-lite';
import type { LadderKind } from '../title/title-address.js';
import { renderVegaLiteSvg } from '../util/vega-svg.js';
import type { LadderAnalysis, TrialPoint } from './per-title.js';
import type { LadderMetric } from './quality-metrics.js';
import { variantKey } from './convex-hull.js';

/** One published rung as ladder.json records it. */
export interface LadderReportRung {
  /** Media playlist URI relative to the title folder. */
  readonly uri: string;
  readonly width: number;
  readonly height: number;
  /** Encoder target, measured average and measured peak (RFC 8216 §4.3.4.2) bitrate, bits/s. */
  readonly targetBitrateBps: number;
  readonly averageBitrateBps: number;
  readonly peakBitrateBps: number;
  /** Set for a rung of the HEVC ladder (`--codecs h264,hevc`). */
  readonly codec?: 'hevc';
  /** Output frame rate, frames/s, when below the title's (a half-rate low rung); absent = the title's (`source.frameRate`). */
  readonly frameRate?: number;
  /** Quality the hull predicted (per-title ladders), metric units. */
  readonly predictedQuality?: number;
  /** x264 CRF of the capped-CRF final encode (per-title rungs). */
  readonly crf?: number;
  /** Quality measured on the published rendition against the master. */
  readonly quality?: { readonly psnrDb: number; readonly ssim?: number; readonly vmaf?: number; readonly low?: { readonly psnrDb: number; readonly ssim?: number; readonly vmaf?: number } };
}

/** Contents of `ladder.json`. */
export interface LadderReport {
  readonly titleId: string;
  readonly ladder: LadderKind;
  /** Metric the ladder was built on (per-title) or measured with. */
  readonly metric: LadderMetric;
  readonly source: {
    readonly width: number;
    readonly height: number;
    readonly displayWidth: number;
    readonly displayHeight: number;
    readonly frameRate: number;
    readonly durationS: number;
  };
  readonly rungs: readonly LadderReportRung[];
  /** The per-title analysis (absent for fixed ladders). */
  readonly analysis?: LadderAnalysis;
  /** Wall-clock seconds: per-title analysis, final encodes (all renditions), quality of the published rungs, whole job. */
  readonly timings: { readonly analysisS: number; readonly encodeS: number; readonly measureS: number; readonly totalS: number };
}

const kbps = (bps: number): string => `${Math.round(bps / 1000).toLocaleString('en-US')}`;
const fmt = (x: number | undefined, digits: number): string => (x === undefined ? '–' : x.toFixed(digits));

/** The chosen ladder of an analysis as a text table (what `vod ladder` prints). */
export function formatAnalysisTable(analysis: LadderAnalysis): string {
  const table = new Table({
    head: ['rung', 'resolution', 'bitrate kbit/s', `predicted ${analysis.metric.toUpperCase()}`],
    colAligns: ['right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  analysis.rungs.forEach((r, i) => table.push([String(i + 1), variantKey(r), kbps(r.bitrateBps), fmt(r.predictedQuality, 2)]));
  return table.toString();
}

/** Every RD point of an analysis as a text table, hull points marked. */
export function formatPointsTable(analysis: LadderAnalysis): string {
  const onHull = new Set(analysis.hull);
  const table = new Table({
    head: ['resolution', 'CRF', 'bitrate kbit/s', 'PSNR dB', 'SSIM', 'VMAF', 'hull'],
    colAligns: ['right', 'right', 'right', 'right', 'right', 'right', 'center'],
    style: { head: [], border: [] },
  });
  for (const p of analysis.points) {
    table.push([variantKey(p), String(p.crf ?? '–'), kbps(p.bitrateBps), fmt(p.psnrDb, 2), fmt(p.ssim, 4), fmt(p.vmaf, 2), onHull.has(p) ? '●' : '']);
  }
  return table.toString();
}

interface PlotRow {
  readonly series: string;
  readonly kind: 'trial' | 'hull' | 'rung' | 'fixed';
  readonly bitrateKbps: number;
  readonly quality: number;
  readonly label: string;
}

/**
 * Vega-Lite spec of the RD plot: one line per resolution (trial points), the convex hull,
 * the chosen rungs (predicted quality) and the fixed ladder's rungs on the same sample.
 * Bitrate axis logarithmic. Exported so tests can inspect it.
 */
export function ladderChartSpec(analysis: LadderAnalysis, title: string): TopLevelSpec {
  const metric = analysis.metric === 'vmaf' ? 'VMAF' : 'PSNR (dB)';
  // A half-rate variant is its own series: `360p@30`.
  const series = (p: TrialPoint): string => `${p.height}p${p.frameRate !== undefined ? `@${Number(p.frameRate.toFixed(3))}` : ''}`;
  const trial = (p: TrialPoint): PlotRow => ({ series: series(p), kind: 'trial', bitrateKbps: p.bitrateBps / 1000, quality: p.quality, label: `${variantKey(p)} CRF ${p.crf}` });
  const rows: PlotRow[] = [
    ...analysis.points.map(trial),
    ...analysis.hull.map((p) => ({ series: 'convex hull', kind: 'hull' as const, bitrateKbps: p.bitrateBps / 1000, quality: p.quality, label: `${variantKey(p)} CRF ${p.crf}` })),
    ...analysis.rungs.map((r) => ({ series: 'per-title rungs', kind: 'rung' as const, bitrateKbps: r.bitrateBps / 1000, quality: r.predictedQuality, label: variantKey(r) })),
    ...(analysis.fixedPoints ?? []).map((p) => ({ series: 'fixed ladder', kind: 'fixed' as const, bitrateKbps: p.bitrateBps / 1000, quality: p.quality, label: `${p.width}x${p.height} @ ${kbps(p.targetBitrateBps ?? 0)}k` })),
  ];
  const x = { field: 'bitrateKbps', type: 'quantitative', scale: { type: 'log', nice: false, padding: 12 }, title: 'bitrate (kbit/s, log scale)' } as const;
  const y = { field: 'quality', type: 'quantitative', scale: { zero: false }, title: metric } as const;
  const tooltip = [{ field: 'label', title: 'point' }, { field: 'bitrateKbps', title: 'kbit/s', format: ',.0f' }, { field: 'quality', format: '.2f' }];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 13 },
    width: 620,
    height: 380,
    data: { values: rows },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'trial'" }],
        mark: { type: 'line', point: true, strokeWidth: 1, opacity: 0.7 },
        encoding: { x, y, color: { field: 'series', type: 'nominal', title: 'resolution' }, order: { field: 'bitrateKbps' }, tooltip },
      },
      {
        transform: [{ filter: "datum.kind === 'hull'" }],
        mark: { type: 'line', color: 'black', strokeDash: [6, 3], strokeWidth: 2 },
        encoding: { x, y, order: { field: 'bitrateKbps' } },
      },
      {
        transform: [{ filter: "datum.kind !== 'trial' && datum.kind !== 'hull'" }],
        mark: { type: 'point', filled: true, size: 120 },
        encoding: {
          x,
          y,
          shape: { field: 'series', type: 'nominal', title: 'ladder', scale: { domain: ['per-title rungs', 'fixed ladder'], range: ['diamond', 'square'] } },
          fill: { field: 'series', type: 'nominal', legend: null, scale: { domain: ['per-title rungs', 'fixed ladder'], range: ['#d62728', '#7f7f7f'] } },
          stroke: { value: 'black' },
          tooltip,
        },
      },
    ],
    resolve: { scale: { color: 'independent', shape: 'independent' } },
    config: { background: 'white' },
  } as TopLevelSpec;
}

/** Renders the RD plot to an SVG string. */
export async function renderLadderSvg(analysis: LadderAnalysis, title: string): Promise<string> {
  return renderVegaLiteSvg(ladderChartSpec(analysis, title));
}

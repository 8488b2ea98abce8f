/**
 * `vod bench abr-sim`: every rule over every throughput trace for one title, by the ABR
 * simulator; per-trace rows, a per-rule summary against the targets of issue 15, and the files
 * (CSV, JSON, an SVG of average bitrate against rebuffer ratio).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { parseThroughputTrace, RateProfile, type ThroughputTrace } from '../edge-cache/shaping.js';
import { renderVegaLiteSvg } from '../util/vega-svg.js';
import { createAbrRule, type AbrRuleName } from './abr-rules.js';
import { simulateSession, type SimResult, type SimSettings, type SimTitle } from './abr-sim.js';

export interface AbrSimRow extends Omit<SimResult, 'levels' | 'decisionsByRule'> {
  readonly trace: string;
  readonly traceMeanBps: number;
  /** min(trace mean, top level's bitrate): what a rule could deliver at best. */
  readonly attainableBps: number;
}

/**
 * Reads every throughput trace under `dir` (Pensieve format, `*.txt`, recursively; Mahimahi
 * packet traces and SOURCE_* / README files are skipped), sorted by path.
 * @throws Error when the folder holds none.
 */
export async function readThroughputTraces(dir: string): Promise<ThroughputTrace[]> {
  // Licence and README files sit beside the traces in ../shared/traces/net.
  const files = (await fs.readdir(dir, { recursive: true })).filter((f) => f.endsWith('.txt') && !f.includes('mahimahi') && !/^(SOURCE_|README)/i.test(path.basename(f))).sort();
  const traces = [];
  for (const f of files) traces.push(parseThroughputTrace(f.replace(/\.txt$/, ''), await fs.readFile(path.join(dir, f), 'utf8')));
  if (traces.length === 0) throw new Error(`no throughput traces (*.txt, seconds<TAB>Mbit/s) under ${dir}`);
  return traces;
}

/** Runs every rule on every trace. */
export function runAbrGrid(title: SimTitle, traces: readonly ThroughputTrace[], rules: readonly AbrRuleName[], settings: SimSettings, onRow?: (row: AbrSimRow) => void): AbrSimRow[] {
  const top = Math.max(...title.bitratesBps);
  const rows: AbrSimRow[] = [];
  for (const trace of traces) {
    for (const name of rules) {
      const { levels: _levels, decisionsByRule: _by, ...r } = simulateSession(title, RateProfile.fromTrace(trace), createAbrRule(name), settings);
      const row = { ...r, trace: trace.name, traceMeanBps: trace.meanBps, attainableBps: Math.min(trace.meanBps, top) };
      rows.push(row);
      onRow?.(row);
    }
  }
  return rows;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface AbrRuleSummary {
  readonly rule: string;
  readonly traces: number;
  readonly medianBitrateShare: number;
  readonly medianRebufferRatio: number;
  readonly medianQoe: number;
  /** Share of traces where this rule's QoE beats the hls.js model's (undefined for that model). */
  readonly beatsHlsjsShare: number | undefined;
}

/** Per rule: medians over traces, and how often it beats the hls.js model on QoE. */
export function summarizeAbr(rows: readonly AbrSimRow[]): AbrRuleSummary[] {
  const rules = [...new Set(rows.map((r) => r.rule))];
  const hls = new Map(rows.filter((r) => r.rule === 'hlsjs').map((r) => [r.trace, r.qoePerSegment]));
  return rules.map((rule) => {
    const mine = rows.filter((r) => r.rule === rule);
    const compared = mine.filter((r) => hls.has(r.trace));
    return {
      rule,
      traces: mine.length,
      medianBitrateShare: median(mine.map((r) => r.averageBitrateBps / r.attainableBps)),
      medianRebufferRatio: median(mine.map((r) => r.rebufferRatio)),
      medianQoe: median(mine.map((r) => r.qoePerSegment)),
      beatsHlsjsShare: rule === 'hlsjs' || compared.length === 0 ? undefined : compared.filter((r) => r.qoePerSegment > hls.get(r.trace)!).length / compared.length,
    };
  });
}

const CSV_COLUMNS = ['trace', 'rule', 'traceMeanBps', 'attainableBps', 'averageBitrateBps', 'rebufferRatio', 'stalls', 'stallS', 'switchesPerMinute', 'startupS', 'qoePerSegment', 'segments'] as const;

/**
 * Writes `<base>.csv`, `<base>.json` (settings, rows, summary) and `<base>.svg`.
 * @returns the paths written.
 */
export async function writeAbrReport(dir: string, base: string, title: SimTitle, settings: SimSettings, rows: readonly AbrSimRow[]): Promise<{ csv: string; json: string; svg: string }> {
  await fs.mkdir(dir, { recursive: true });
  const csv = path.join(dir, `${base}.csv`);
  const json = path.join(dir, `${base}.json`);
  const svg = path.join(dir, `${base}.svg`);
  await fs.writeFile(csv, `${CSV_COLUMNS.join(',')}\n${rows.map((r) => CSV_COLUMNS.map((c) => JSON.stringify(r[c])).join(',')).join('\n')}\n`);
  await fs.writeFile(json, `${JSON.stringify({ generatedAt: new Date().toISOString(), title: { name: title.name, bitratesBps: title.bitratesBps, segments: title.segmentDurationsS.length }, settings, summary: summarizeAbr(rows), rows }, null, 2)}\n`);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `ABR simulator, title ${title.name}: each point one trace`, fontSize: 13 },
    data: { values: rows.map((r) => ({ rule: r.rule, trace: r.trace, share: r.averageBitrateBps / r.attainableBps, rebufferPercent: r.rebufferRatio * 100 })) },
    width: 480,
    height: 300,
    mark: { type: 'point', filled: true, opacity: 0.7 },
    encoding: {
      x: { field: 'rebufferPercent', type: 'quantitative', title: 'rebuffer ratio (%)', scale: { type: 'symlog' } },
      y: { field: 'share', type: 'quantitative', title: 'average bitrate / min(trace mean, top level)' },
      color: { field: 'rule', type: 'nominal' },
      shape: { field: 'rule', type: 'nominal' },
      tooltip: [{ field: 'trace' }, { field: 'rule' }, { field: 'share', format: '.2f' }, { field: 'rebufferPercent', format: '.2f' }],
    },
    config: { background: 'white' },
  } as TopLevelSpec;
  await fs.writeFile(svg, await renderVegaLiteSvg(spec));
  return { csv, json, svg };
}

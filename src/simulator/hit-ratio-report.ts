/**
 * `vod bench hit-ratio`'s report: the grid of policies × cache sizes (hit-ratio-grid.ts) as
 * text tables, CSV, JSON and an SVG plot (hit-ratio-chart.ts). Reporting only.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { renderVegaLiteSvg } from '../util/vega-svg.js';
import { missRatioCurveSpec, renderHitRatioSvg } from './hit-ratio-chart.js';
import type { MissRatioCurve } from './miss-ratio-curve.js';
import type { HitRatioRow } from './hit-ratio-grid.js';
import type { Trace } from './trace.js';

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Formats the grid as a text table: one row per policy, one column per size, cells "hit% / byte hit%". */
export function formatHitRatioTable(rows: readonly HitRatioRow[]): string {
  const sizes = [...new Set(rows.map((r) => r.capacityBytes))];
  const policies = [...new Set(rows.map((r) => r.policy))];
  const header = ['policy', ...sizes.map((b) => { const r = rows.find((x) => x.capacityBytes === b)!; return `${(r.capacityFraction * 100).toPrecision(3)}% (${humanBytes(b)})`; })];
  const body = policies.map((p) => [p, ...sizes.map((b) => { const r = rows.find((x) => x.policy === p && x.capacityBytes === b)!; return `${pct(r.hitRatio)} / ${pct(r.byteHitRatio)}`; })]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...body.map(line), '(cells: object hit ratio / byte hit ratio)'].join('\n');
}

/** Formats origin egress (bytes fetched for misses) per policy and size. */
export function formatEgressTable(rows: readonly HitRatioRow[]): string {
  const sizes = [...new Set(rows.map((r) => r.capacityBytes))];
  const policies = [...new Set(rows.map((r) => r.policy))];
  const header = ['origin egress', ...sizes.map((b) => humanBytes(b))];
  const body = policies.map((p) => [p, ...sizes.map((b) => humanBytes(rows.find((x) => x.policy === p && x.capacityBytes === b)!.originEgressBytes))]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** Formats bytes in binary units (KiB, MiB, GiB). */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

const CSV_COLUMNS = ['trace', 'policy', 'capacityBytes', 'capacityFraction', 'requests', 'hits', 'hitRatio', 'byteHitRatio', 'requestedBytes', 'originEgressBytes', 'requestsPerSecond'] as const;

/** Writes `<base>.csv`, `<base>.json` and `<base>.svg` into `dir`; returns their paths. */
export async function writeHitRatioReport(dir: string, base: string, trace: Trace, rows: readonly HitRatioRow[]): Promise<{ csv: string; json: string; svg: string }> {
  await fs.mkdir(dir, { recursive: true });
  const csv = path.join(dir, `${base}.csv`);
  const json = path.join(dir, `${base}.json`);
  const svg = path.join(dir, `${base}.svg`);
  const quote = (v: unknown) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : String(v));
  await fs.writeFile(csv, [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => quote(r[c])).join(','))].join('\n') + '\n');
  await fs.writeFile(
    json,
    `${JSON.stringify({ trace: { name: trace.name, requests: trace.requests, uniqueObjects: trace.uniqueObjects, uniqueBytes: trace.uniqueBytes }, generatedAt: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  await fs.writeFile(svg, await renderHitRatioSvg(rows, `${trace.name}: ${trace.requests.toLocaleString('en')} requests, ${humanBytes(trace.uniqueBytes)} unique`));
  return { csv, json, svg };
}

/**
 * Writes LRU's one-pass curve as `<base>.csv` (capacity_bytes, size_fraction, hit_ratio,
 * byte_hit_ratio) and `<base>.svg`.
 * @returns the paths written.
 */
export async function writeMissRatioCurve(dir: string, base: string, trace: Trace, curve: MissRatioCurve): Promise<{ csv: string; svg: string }> {
  await fs.mkdir(dir, { recursive: true });
  const csv = path.join(dir, `${base}.csv`);
  const svg = path.join(dir, `${base}.svg`);
  const lines = [...curve.capacityBytes].map((c, i) => `${c},${c / trace.uniqueBytes},${curve.hitRatio[i]},${curve.byteHitRatio[i]}`);
  await fs.writeFile(csv, `capacity_bytes,size_fraction,hit_ratio,byte_hit_ratio\n${lines.join('\n')}\n`);
  await fs.writeFile(svg, await renderVegaLiteSvg(missRatioCurveSpec(curve, trace.uniqueBytes, `${trace.name}: LRU at every size (one pass, Mattson 1970)`)));
  return { csv, svg };
}

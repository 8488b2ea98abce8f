/**
 * `vod bench abr-sim`: the ABR rules over every throughput trace, simulated on a published
 * title's real segment sizes (src/abr/).
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { ABR_RULE_NAMES, type AbrRuleName } from '../abr/abr-rules.js';
import { readThroughputTraces, runAbrGrid, summarizeAbr, writeAbrReport } from '../abr/abr-bench.js';
import { HLSJS_MAX_BUFFER_SIZE_BYTES } from '../abr/abr-sim.js';
import { loadSimTitle } from '../abr/sim-title.js';
import { listTitles } from '../origin/catalog.js';
import { UserError } from '../util/errors.js';
import type { CliContext } from './context.js';

export interface AbrSimFlags {
  readonly title?: string;
  readonly traces?: string;
  readonly rules: string;
  readonly session: number;
  readonly buffer: number;
  readonly latency: number;
  /** hls.js's maxMaxBufferLength, s: model hls.js's own buffer limit (SimSettings.hlsBufferLimit); unset = --buffer is the limit. */
  readonly maxMaxBuffer?: number;
  /** Trace time of the first segment request, s (SimSettings.startS). */
  readonly start: number;
  readonly out: string;
}

/** Parses `--rules`: 'all' or a comma-separated list. @throws UserError naming an unknown rule. */
export function parseAbrRules(text: string): AbrRuleName[] {
  if (text === 'all') return [...ABR_RULE_NAMES];
  return text.split(',').map((s) => {
    const n = s.trim();
    if (!(ABR_RULE_NAMES as readonly string[]).includes(n)) throw new UserError(`Unknown ABR rule '${n}'; known: ${ABR_RULE_NAMES.join(', ')}.`);
    return n as AbrRuleName;
  });
}

export async function runAbrSim(ctx: CliContext, flags: AbrSimFlags): Promise<void> {
  const rules = parseAbrRules(flags.rules);
  let titleId = flags.title;
  if (!titleId) {
    const published = (await listTitles(ctx.store)).sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
    if (published.length === 0) throw new UserError('No published title to simulate: upload one first (vod upload FILE), or pass --title ID.');
    titleId = published[0]!.titleId;
  }
  const title = await loadSimTitle(ctx.store, titleId).catch((err: Error) => {
    throw new UserError(`Cannot read title ${titleId}: ${err.message}.`);
  });
  const dir = flags.traces ?? ctx.config.netTracesDir;
  const traces = await readThroughputTraces(dir).catch((err: Error) => {
    throw new UserError(`Cannot read the throughput traces: ${err.message}.`);
  });
  const settings = {
    sessionS: flags.session,
    bufferTargetS: flags.buffer,
    latencyS: flags.latency / 1000,
    startS: flags.start,
    ...(flags.maxMaxBuffer !== undefined ? { hlsBufferLimit: { maxMaxBufferS: flags.maxMaxBuffer, maxBufferSizeBytes: HLSJS_MAX_BUFFER_SIZE_BYTES } } : {}),
  };
  process.stderr.write(`title ${titleId}: ${title.bitratesBps.length} levels (average bitrates ${title.bitratesBps.map((b) => Math.round(b / 1000)).join(', ')} kbit/s), ${title.segmentDurationsS.length} segments; ${traces.length} traces from ${dir}\n`);
  const bar = new cliProgress.SingleBar({ format: 'simulating |{bar}| {value}/{total} sessions | {what}', stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar.start(traces.length * rules.length, 0, { what: '' });
  let done = 0;
  const started = performance.now();
  const rows = runAbrGrid(title, traces, rules, settings, (r) => bar.update(++done, { what: `${r.rule} on ${r.trace}` }));
  bar.stop();
  const table = new Table({ head: ['rule', 'traces', 'median bitrate / attainable', 'median rebuffer', 'median QoE/segment', 'beats hls.js model (QoE)'] });
  for (const s of summarizeAbr(rows)) {
    table.push([s.rule, String(s.traces), s.medianBitrateShare.toFixed(2), `${(s.medianRebufferRatio * 100).toFixed(2)}%`, s.medianQoe.toFixed(3), s.beatsHlsjsShare === undefined ? '–' : `${(s.beatsHlsjsShare * 100).toFixed(0)}% of traces`]);
  }
  process.stdout.write(`${table.toString()}\n${rows.length} sessions of ${flags.session} s in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const files = await writeAbrReport(flags.out, 'abr-sim', title, settings, rows);
  process.stdout.write(`Wrote ${files.csv}, ${files.json} and ${files.svg}\n`);
}

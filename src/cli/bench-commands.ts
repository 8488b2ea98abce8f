/**
 * `vod bench ...`: hit-ratio simulation over real traces or the synthetic VOD workload,
 * writing the synthetic workload out as a trace, and live replay against a running edge.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import bytes from 'bytes';
import cliProgress from 'cli-progress';
import { formatEgressTable, formatHitRatioTable, writeHitRatioReport, writeMissRatioCurve } from '../simulator/hit-ratio-report.js';
import { parseCacheSizes, runHitRatioGrid } from '../simulator/hit-ratio-grid.js';
import { readTrace, type CsvTraceOptions } from '../simulator/trace-readers.js';
import type { Trace } from '../simulator/trace.js';
import { logSpacedSizes, lruMissRatioCurve } from '../simulator/miss-ratio-curve.js';
import { generateVodWorkload, type VodWorkloadOptions } from '../simulator/vod-workload.js';
import { isPolicyName, POLICY_NAMES, type PolicyName } from '../cache-policies/policy-registry.js';
import { EDGE_POLICY_NAMES, LRU_CACHE_TIER, simulatedPolicyOf, type EdgePolicyName } from '../edge-cache/memory-tier.js';
import { UserError } from '../util/errors.js';

export interface TraceSourceFlags {
  trace?: string;
  workload?: string;
  csvIdColumn?: number;
  csvSizeColumn?: number;
  csvTimeColumn?: number;
  csvNoHeader?: boolean;
  csvDelimiter?: string;
  seed?: number;
  titles?: number;
  days?: number;
  sessionsPerDay?: number;
  zipfAlpha?: number;
  newReleasesPerDay?: number;
  medianTitleMinutes?: number;
  segmentDuration?: number;
  completionRate?: number;
  meanAbandonMinutes?: number;
  switchProbability?: number;
  diurnalAmplitude?: number;
}

/** Loads the trace named by --trace, or generates --workload vod with its flags. */
export async function loadTraceSource(flags: TraceSourceFlags): Promise<Trace> {
  if (flags.trace && flags.workload) throw new UserError('Give either --trace FILE or --workload vod, not both.');
  if (flags.trace) {
    const csv: CsvTraceOptions = {
      ...(flags.csvIdColumn !== undefined ? { idColumn: flags.csvIdColumn } : {}),
      ...(flags.csvSizeColumn !== undefined ? { sizeColumn: flags.csvSizeColumn } : {}),
      ...(flags.csvTimeColumn !== undefined ? { timeColumn: flags.csvTimeColumn } : {}),
      ...(flags.csvNoHeader ? { hasHeader: false } : {}),
      ...(flags.csvDelimiter ? { delimiter: flags.csvDelimiter } : {}),
    };
    try {
      await fs.access(flags.trace);
    } catch {
      throw new UserError(`Trace file ${flags.trace} does not exist.`);
    }
    // A bar while reading: public traces run to gigabytes (shown only on a terminal).
    const bar = new cliProgress.SingleBar({ format: 'reading trace |{bar}| {percentage}% | {done} of {size}', stream: process.stderr, noTTYOutput: false }, cliProgress.Presets.shades_classic);
    let started = false;
    const onProgress = (read: number, size: number) => {
      if (!started) bar.start(size, 0, { done: bytes.format(0), size: bytes.format(size) });
      started = true;
      bar.update(read, { done: bytes.format(read) });
    };
    try {
      return await readTrace(flags.trace, csv, onProgress);
    } catch (err) {
      throw new UserError(`Cannot read trace ${flags.trace}: ${(err as Error).message.replace(/\.$/, '')}.`);
    } finally {
      if (started) bar.stop();
    }
  }
  if (flags.workload === 'vod') {
    const o: VodWorkloadOptions = {
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      ...(flags.titles !== undefined ? { titles: flags.titles } : {}),
      ...(flags.days !== undefined ? { days: flags.days } : {}),
      ...(flags.sessionsPerDay !== undefined ? { sessionsPerDay: flags.sessionsPerDay } : {}),
      ...(flags.zipfAlpha !== undefined ? { zipfAlpha: flags.zipfAlpha } : {}),
      ...(flags.newReleasesPerDay !== undefined ? { newReleasesPerDay: flags.newReleasesPerDay } : {}),
      ...(flags.medianTitleMinutes !== undefined ? { medianTitleMinutes: flags.medianTitleMinutes } : {}),
      ...(flags.segmentDuration !== undefined ? { segmentDurationS: flags.segmentDuration } : {}),
      ...(flags.completionRate !== undefined ? { completionRate: flags.completionRate } : {}),
      ...(flags.meanAbandonMinutes !== undefined ? { meanAbandonMinutes: flags.meanAbandonMinutes } : {}),
      ...(flags.switchProbability !== undefined ? { switchProbability: flags.switchProbability } : {}),
      ...(flags.diurnalAmplitude !== undefined ? { diurnalAmplitude: flags.diurnalAmplitude } : {}),
    };
    if (o.completionRate !== undefined && o.completionRate > 1) throw new UserError('--completion-rate is a fraction from 0 to 1.');
    if (o.switchProbability !== undefined && o.switchProbability > 1) throw new UserError('--switch-probability is a probability from 0 to 1.');
    return generateVodWorkload(o);
  }
  if (flags.workload) throw new UserError(`Unknown workload '${flags.workload}'; the only one is 'vod'.`);
  throw new UserError('Give a trace with --trace FILE or a synthetic one with --workload vod.');
}

/**
 * Parses `--policies`: 'all' or comma-separated registry names.
 * @throws UserError naming the first unknown policy and the known ones.
 */
export function parsePolicyList(text: string): PolicyName[] {
  if (text === 'all') return POLICY_NAMES;
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  return names.map((n) => {
    if (!isPolicyName(n)) throw new UserError(`Unknown policy '${n}'; known: ${POLICY_NAMES.join(', ')}.`);
    return n;
  });
}

/** Points of the `--mrc` curve, log-spaced from 0.001% of the unique bytes (or the smallest object) to all of them. */
const MRC_POINTS = 200;
const MRC_SMALLEST_FRACTION = 1e-5;

export async function runHitRatioBench(flags: TraceSourceFlags & { policies: string; sizes: string; out: string; name?: string; mrc?: boolean }): Promise<void> {
  if (flags.mrc) return runMissRatioCurve(flags);
  const policies = parsePolicyList(flags.policies);
  let sizes;
  try {
    sizes = parseCacheSizes(flags.sizes, (s) => bytes.parse(s));
  } catch (err) {
    throw new UserError(`--sizes: ${(err as Error).message}.`);
  }
  const trace = await loadTraceSource(flags);
  if (trace.requests === 0) throw new UserError(`The trace ${trace.name} has no requests.`);
  process.stderr.write(`${trace.name}: ${trace.requests.toLocaleString('en')} requests, ${trace.uniqueObjects.toLocaleString('en')} objects, ${bytes.format(trace.uniqueBytes)} unique\n`);
  const bar = new cliProgress.SingleBar({ format: 'simulating |{bar}| {value}/{total} runs | {what}', stream: process.stderr, noTTYOutput: false }, cliProgress.Presets.shades_classic);
  bar.start(policies.length * sizes.length, 0, { what: '' });
  const rows = runHitRatioGrid(trace, policies, sizes, (done, _total, row) => bar.update(done, { what: `${row.policy} @ ${bytes.format(row.capacityBytes)}` }));
  bar.stop();
  process.stdout.write(`${formatHitRatioTable(rows)}\n\n${formatEgressTable(rows)}\n`);
  const files = await writeHitRatioReport(flags.out, `hit-ratio-${resultBaseName(flags, trace)}`, trace, rows);
  process.stdout.write(`Wrote ${files.csv}, ${files.json} and ${files.svg}\n`);
}

/** The base name of a trace's result files: `--name`, or derived from the trace. */
function resultBaseName(flags: TraceSourceFlags & { name?: string }, trace: Trace): string {
  return (flags.name ?? (flags.workload ? `vod-workload-seed${flags.seed ?? 1}` : path.basename(trace.name))).replace(/(\.(zst|zstd|gz|xz))$/i, '').replace(/(\.oracleGeneral)?(\.(csv|bin|jsonl|log))?$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

/** `vod bench hit-ratio --mrc`: LRU's hit ratio at every size from one pass (miss-ratio-curve.ts). */
async function runMissRatioCurve(flags: TraceSourceFlags & { out: string; name?: string }): Promise<void> {
  const trace = await loadTraceSource(flags);
  if (trace.requests === 0) throw new UserError(`The trace ${trace.name} has no requests.`);
  let smallest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < trace.requests; i++) smallest = Math.min(smallest, trace.sizes[i]!);
  const started = performance.now();
  const curve = lruMissRatioCurve(trace, logSpacedSizes(Math.max(smallest, Math.ceil(trace.uniqueBytes * MRC_SMALLEST_FRACTION)), trace.uniqueBytes, MRC_POINTS));
  const ms = performance.now() - started;
  const at = (f: number) => {
    let i = curve.capacityBytes.findIndex((c) => c >= f * trace.uniqueBytes);
    if (i < 0) i = curve.capacityBytes.length - 1;
    return `${(f * 100).toString().padStart(4)}%: ${(curve.hitRatio[i]! * 100).toFixed(2)}% / ${(curve.byteHitRatio[i]! * 100).toFixed(2)}%`;
  };
  process.stdout.write(`${trace.name}: LRU hit ratio / byte hit ratio at ${curve.capacityBytes.length} sizes from one pass (${ms.toFixed(0)} ms)\n${[0.001, 0.01, 0.05, 0.1, 0.25, 1].map(at).join('\n')}\n`);
  const files = await writeMissRatioCurve(flags.out, `mrc-${resultBaseName(flags, trace)}`, trace, curve);
  process.stdout.write(`Wrote ${files.csv} and ${files.svg}\n`);
}

export async function runWorkloadExport(flags: TraceSourceFlags & { out: string }): Promise<void> {
  const trace = await loadTraceSource({ ...flags, workload: 'vod' });
  const lines = ['time,obj_id,obj_size'];
  for (let i = 0; i < trace.requests; i++) lines.push(`${trace.times[i]!.toFixed(3)},${trace.sourceIds.get(trace.ids[i]!)},${trace.sizes[i]}`);
  await fs.mkdir(path.dirname(path.resolve(flags.out)), { recursive: true });
  await fs.writeFile(flags.out, `${lines.join('\n')}\n`);
  process.stdout.write(`Wrote ${trace.requests.toLocaleString('en')} requests (${trace.uniqueObjects.toLocaleString('en')} objects, ${bytes.format(trace.uniqueBytes)} unique) to ${flags.out}\n`);
}

export async function runSyntheticOrigin(opts: { port: number; host: string }): Promise<void> {
  const { startSyntheticOrigin } = await import('../simulator/replay.js');
  const { wrapListenError, untilSignal } = await import('./commands.js');
  const server = await startSyntheticOrigin(opts.host, opts.port).catch(wrapListenError);
  process.stdout.write(`Synthetic bench origin at ${server.url}: GET /vod/bench/<name>?size=N answers N bytes.\nRun an edge in front of it: vod edge --origin ${server.url} --policy s3fifo --cache-bytes 64MB\n`);
  await untilSignal();
  await server.close();
}

export async function runReplay(flags: TraceSourceFlags & { edge: string; rate: number; maxSeconds: number; requests?: number; concurrency: number }): Promise<void> {
  const { replayTrace } = await import('../simulator/replay.js');
  const { simulate } = await import('../simulator/simulator.js');
  const { TraceBuilder } = await import('../simulator/trace.js');
  const trace = await loadTraceSource(flags);
  let health: { policy?: string; cacheBytes?: number };
  try {
    health = (await (await fetch(`${flags.edge}/healthz`)).json()) as typeof health;
  } catch (err) {
    throw new UserError(`Cannot reach the edge at ${flags.edge}: ${(err as Error).message}.`, { exitCode: 1 });
  }
  const total = Math.min(trace.requests, flags.requests ?? trace.requests);
  process.stderr.write(`replaying ${total.toLocaleString('en')} requests of ${trace.name} at up to ${flags.rate} req/s against ${flags.edge} (policy ${health.policy}, ${bytes.format(health.cacheBytes ?? 0)})\n`);
  const bar = new cliProgress.SingleBar({ format: 'replay |{bar}| {value}/{total} requests | {eta_formatted} left', stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  const result = await replayTrace({ edgeUrl: flags.edge, trace, ratePerS: flags.rate, maxSeconds: flags.maxSeconds, maxRequests: total, concurrency: flags.concurrency, onProgress: (d) => bar.update(d) });
  bar.stop();
  // The simulator on exactly the prefix that was replayed, same policy and size.
  const prefix = new TraceBuilder(result.requests);
  for (let i = 0; i < result.requests; i++) prefix.add(trace.ids[i]!, trace.sizes[i]!, trace.times[i]!);
  const edgePolicy = (EDGE_POLICY_NAMES as readonly string[]).includes(health.policy ?? '') ? (health.policy as EdgePolicyName) : LRU_CACHE_TIER;
  const policy = simulatedPolicyOf(edgePolicy);
  const sim = simulate(prefix.build(trace.name), policy, health.cacheBytes ?? 1);
  const lines = [
    `requests replayed: ${result.requests} (${result.stoppedBy === 'time' ? 'stopped by --max-seconds' : 'whole trace'}), errors: ${result.errors}, ${result.elapsedS.toFixed(1)} s`,
    `edge hit ratio (from its /metrics): ${(result.hitRatio * 100).toFixed(2)}%   origin offload: ${(result.originOffload * 100).toFixed(2)}%`,
    `simulator (${policy}, same prefix and size): ${(sim.hitRatio * 100).toFixed(2)}%`,
    `difference: ${((result.hitRatio - sim.hitRatio) * 100).toFixed(2)} percentage points${edgePolicy === LRU_CACHE_TIER ? ' (the edge runs lru-cache, which also charges per-entry overhead; use --policy lru for a like-for-like run)' : ''}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * What the per-title analysis's complexity scan (title-complexity.ts) costs on a long title, read
 * whole and in spans (scanSpans). A long master is made by joining copies of a short one with
 * ffmpeg's concat demuxer (stream copy: minutes of 1080p in seconds; the content repeats, so
 * this measures time, not where the windows go — bench:sample-bias measures that). The spans
 * scan reads what complexityForSample reads for the default sample (SCAN_SPANS_PER_SHARE spans of
 * SCAN_SPAN_WINDOWS windows per share); the whole scan
 * is optional (`--whole`: it takes about as long as decoding the whole title).
 *
 * Writes bench/results/scan-cost[-TAG].json and .md.
 * Run: npm run bench:scan-cost -- --help   (default: a 60 s noisy 1080p24 master, 20 minutes of
 * title; about 3 minutes without --whole on 2 cores, 12 with it)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { makeSyntheticMaster } from '../fixtures/synthetic-master.js';
import { loadConfig } from '../src/config.js';
import { resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';
import { inspectMaster } from '../src/encoder/master-check.js';
import { keyframesForSeeking } from '../src/encoder/master-seek.js';
import { planAnalysis } from '../src/encoder/per-title.js';
import { complexityForSample, scanComplexity, scanSpans, SCAN_SPAN_WINDOWS, SCAN_SPANS_MAX_SHARE, SCAN_SPANS_PER_SHARE } from '../src/encoder/title-complexity.js';
import { outputFrameRate } from '../src/encoder/title-stages.js';

const program = new Command('bench:scan-cost')
  .description('Time the complexity scan on a long title, in spans and (with --whole) whole.')
  .option('--master <file>', 'master to repeat (default: a synthetic 1920x1080 24 fps master with temporal noise)')
  .option('--seconds <s>', 'length of the synthetic master, s', (v) => Number(v), 60)
  .option('--minutes <m>', 'length of the long title, minutes', (v) => Number(v), 20)
  .option('--whole', 'also scan the whole title (as long as decoding it)')
  .option('--tag <name>', 'suffix of the result files')
  .parse();
const opts = program.opts<{ master?: string; seconds: number; minutes: number; whole?: boolean; tag?: string }>();

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'bench', 'results');
const paths = resolveFfmpegPaths(loadConfig(process.env));
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-bench-scan-cost-'));
try {
  const short =
    opts.master ??
    (await makeSyntheticMaster({ path: path.join(work, 'short.mp4'), durationS: opts.seconds, width: 1920, height: 1080, frameRate: 24, audio: false, videoFilter: 'noise=alls=6:allf=t' }, paths));
  const shortS = (await inspectMaster(short, paths)).durationS;
  const copies = Math.max(1, Math.round((opts.minutes * 60) / shortS));
  const list = path.join(work, 'list.txt');
  await fs.writeFile(list, Array.from({ length: copies }, () => `file '${path.resolve(short).replaceAll("'", "'\\''")}'`).join('\n'));
  const long = path.join(work, `long${path.extname(short) === '.webm' ? '.mkv' : path.extname(short)}`);
  process.stderr.write(`joining ${copies} copies of ${path.basename(short)}…\n`);
  await runFfmpeg({ inputs: [{ source: list, options: ['-f', 'concat', '-safe', '0'] }], outputOptions: ['-map', '0:v:0', '-c', 'copy'], output: long }, paths);
  const probed = await inspectMaster(long, paths);
  const frameRate = outputFrameRate(probed.video!);
  const keyframesS = await keyframesForSeeking(long, probed.formatName, paths);
  const windows = planAnalysis(probed, frameRate, { segmentDurationS: 4, keyframesS }).settings.windows;
  const spans = scanSpans(probed.durationS, frameRate, windows);
  if (!spans) throw new Error(`a ${probed.durationS.toFixed(0)} s title is scanned whole: ask for more --minutes`);
  const timed = async <T>(fn: () => Promise<T>): Promise<number> => {
    const started = performance.now();
    await fn();
    return (performance.now() - started) / 1000;
  };
  process.stderr.write(`scanning ${probed.durationS.toFixed(0)} s in ${spans.length} spans…\n`);
  const spansScanS = await timed(() => complexityForSample(long, probed, frameRate, paths, { windows, keyframesS, onScanError: (err) => { throw err; } }));
  let wholeScanS: number | undefined;
  if (opts.whole) {
    process.stderr.write('scanning the whole title…\n');
    wholeScanS = await timed(() => scanComplexity(long, probed, frameRate, paths));
  }
  const spanS = spans.reduce((t, sp) => t + sp.frames, 0) / frameRate;
  const result = {
    date: new Date().toISOString().slice(0, 10),
    cores: os.cpus().length,
    master: opts.master ? path.basename(opts.master) : `synthetic 1920x1080 24 fps noise, ${opts.seconds} s`,
    titleS: probed.durationS,
    frameRate,
    spansPerShare: SCAN_SPANS_PER_SHARE,
    spanWindows: SCAN_SPAN_WINDOWS,
    spansMaxShare: SCAN_SPANS_MAX_SHARE,
    spans: spans.length,
    spanS,
    spansScanS,
    ...(wholeScanS !== undefined ? { wholeScanS, speedup: wholeScanS / spansScanS } : {}),
  };
  const suffix = opts.tag ? `-${opts.tag}` : '';
  const md = [
    `Complexity scan of a ${(probed.durationS / 60).toFixed(1)}-minute title (${result.master}, repeated; ${result.date}, ${result.cores} cores; \`npm run bench:scan-cost -- ${process.argv.slice(2).join(' ')}\`).`,
    '',
    '| scan | reads s | time s | time ÷ title |',
    '|---|---:|---:|---:|',
    `| ${spans.length} spans of ${(spanS / Math.max(1, spans.length)).toFixed(1)} s (the default when they read at most ${SCAN_SPANS_MAX_SHARE * 100}% of the title) | ${spanS.toFixed(0)} | ${spansScanS.toFixed(1)} | ${(spansScanS / probed.durationS).toFixed(3)} |`,
    ...(wholeScanS !== undefined ? [`| whole title | ${probed.durationS.toFixed(0)} | ${wholeScanS.toFixed(1)} | ${(wholeScanS / probed.durationS).toFixed(3)} |`, '', `Spans: ${(wholeScanS / spansScanS).toFixed(1)}× faster.`] : []),
  ].join('\n');
  await fs.mkdir(OUT, { recursive: true });
  await fs.writeFile(path.join(OUT, `scan-cost${suffix}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await fs.writeFile(path.join(OUT, `scan-cost${suffix}.md`), `${md}\n`);
  process.stdout.write(`${md}\nWrote bench/results/scan-cost${suffix}.json, .md\n`);
} finally {
  await fs.rm(work, { recursive: true, force: true });
}

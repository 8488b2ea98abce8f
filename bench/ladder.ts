/**
 * Per-title vs fixed ladder benchmark: for every clip in ../shared/media, encodes the fixed
 * (Apple) ladder and the per-title ladder with the same encoder settings, measures every
 * published rung against the master with the same metric (VMAF v0.6.1 on every frame, plus
 * PSNR), and reports the BD-rate of per-title against fixed (Bjøntegaard, VCEG-M33, PCHIP
 * as in JCTVC-L1100; src/encoder/bd-rate.ts) on VMAF and on PSNR, the top rungs, and the
 * per-title analysis time as a multiple of the per-title final encode time.
 *
 * Writes bench/results/ladder.json, ladder.md (the README table) and ladder.svg
 * (ladder-<BENCH_TAG>.* when BENCH_TAG is set).
 * Run: npm run bench:ladder   (about 17 minutes on 2 cores; BENCH_CLIPS=a.mp4,b.webm to pick clips
 * of ../shared/media, and entries with a slash (./mine.mov, /data/x.mp4) for masters of your own;
 * BENCH_SYNTH_1080P60=<seconds> adds a synthetic 1920x1080 60 fps master of that length, hours
 * on 2 cores; BENCH_RUNG_FRAME_SAMPLE=n compares every n-th frame of the published rungs (and the
 * frames beside it), default 1 = every frame;
 * BENCH_SYNTH_PAN60=<seconds> adds a slow pan over a Big Buck Bunny frame at 1920x1080 60 fps
 * (camera-like motion, as bench:half-frame-rate's); BENCH_HALF_RATE=0 turns off the per-title
 * analysis's half-rate trials of the low resolutions (for a before/after on 50/60 fps masters);
 * BENCH_CODECS=h264,hevc also builds the HEVC per-title ladder from its own trials and reports its
 * BD-rate against the H.264 per-title ladder — the per-title run's analysis and encode times then
 * include both codecs).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLiteSvg } from '../src/util/vega-svg.js';
import { loadConfig } from '../src/config.js';
import { bdRate } from '../src/encoder/bd-rate.js';
import { encodeTitle } from '../src/encoder/encode-title.js';
import { resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';
import type { LadderReport } from '../src/encoder/ladder-report.js';
import type { LadderKind } from '../src/title/title-address.js';
import { makeSyntheticMaster } from '../fixtures/synthetic-master.js';
import { benchClips } from './bench-clips.js';
import { transparentHugePagesMode } from '../src/util/transparent-huge-pages.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, '..', 'shared');
const MEDIA = path.join(SHARED, 'media');
const VMAF_MODEL = path.join(SHARED, 'vmaf', 'vmaf_v0.6.1.pkl');
const OUT = path.join(ROOT, 'bench', 'results');

const config = loadConfig({ ...process.env, VMAF_MODEL: process.env.VMAF_MODEL ?? VMAF_MODEL });
const paths = resolveFfmpegPaths(config);
const tag = process.env.BENCH_TAG ? `-${process.env.BENCH_TAG.replace(/[^A-Za-z0-9_-]/g, '')}` : '';
/** The host's THP mode, which sets libvmaf's speed (src/util/transparent-huge-pages.ts). */
const thp = (await transparentHugePagesMode()) ?? 'unknown';
const rungFrameSample = Math.max(1, Number(process.env.BENCH_RUNG_FRAME_SAMPLE ?? 1) || 1);
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-bench-ladder-'));
const clipPaths = await benchClips(MEDIA);
const synthS = Number(process.env.BENCH_SYNTH_1080P60 ?? 0);
const withHevc = (process.env.BENCH_CODECS ?? '').split(',').map((c) => c.trim()).includes('hevc');
const halfRate = process.env.BENCH_HALF_RATE !== '0';
const panS = Number(process.env.BENCH_SYNTH_PAN60 ?? 0);
if (synthS > 0) {
  // 1080p60 from ffmpeg's test sources: testsrc2 (moving, sharp edges) with light temporal noise.
  const name = `synth_testsrc2_noise_1920x1080_60fps_${synthS}s.mp4`;
  process.stderr.write(`making ${name}… `);
  clipPaths.set(name, await makeSyntheticMaster({ path: path.join(work, name), durationS: synthS, width: 1920, height: 1080, frameRate: 60, audio: false, videoFilter: 'noise=alls=6:allf=t' }, paths));
  process.stderr.write('done\n');
}
if (panS > 0) {
  // A slow pan over a Big Buck Bunny frame (enlarged) with light temporal noise, as bench:half-frame-rate's.
  const name = `synth_pan_bbb_1920x1080_60fps_${panS}s.mp4`;
  process.stderr.write(`making ${name}… `);
  const still = path.join(work, 'pan-frame.png');
  await runFfmpeg({ inputs: [{ source: path.join(MEDIA, 'bbb_anim_1280x720_24fps_10s_aac.mp4'), options: ['-ss', '5'] }], outputOptions: ['-frames:v', '1', '-vf', 'scale=2880:1620:flags=lanczos'], output: still }, paths);
  const file = path.join(work, name);
  await runFfmpeg({ inputs: [{ source: still, options: ['-loop', '1', '-framerate', '60'] }], outputOptions: ['-vf', "crop=1920:1080:x='t*60':y='t*20',noise=alls=3:allf=t", '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '10', '-pix_fmt', 'yuv420p', '-t', String(panS)], output: file }, paths);
  clipPaths.set(name, file);
  process.stderr.write('done\n');
}
const clips = [...clipPaths.keys()];

interface ClipResult {
  clip: string;
  fixed: LadderReport;
  perTitle: LadderReport;
  bdRateVmaf: number;
  bdRatePsnr: number;
  /** BENCH_CODECS with hevc: the HEVC ladder's BD-rate against the H.264 per-title ladder. */
  hevc?: { rungs: LadderReport['rungs']; bdRateVmaf: number; bdRatePsnr: number };
  analysisMultiple: number;
  /** Per-title rungs' measured average bitrate ÷ target: lowest and highest. */
  rateVsTarget: { min: number; max: number };
}

const results: ClipResult[] = [];
try {
  for (const clip of clips) {
    const reports: Partial<Record<LadderKind, LadderReport>> = {};
    for (const ladderKind of ['fixed', 'per-title'] as const) {
      const outDir = path.join(work, `${path.parse(clip).name}-${ladderKind}`);
      await fs.mkdir(outDir, { recursive: true });
      const started = performance.now();
      process.stderr.write(`${clip}: ${ladderKind} ladder… `);
      await encodeTitle(
        {
          titleId: '0000000000000bbb',
          title: clip,
          masterPath: clipPaths.get(clip)!,
          masterFileName: clip,
          outDir,
          segmentDurationS: config.segmentDurationS,
          x264Preset: config.x264Preset,
          ladderKind,
          ...(config.vmafModelPath ? { vmafModelPath: config.vmafModelPath } : {}),
          ...(ladderKind === 'per-title' ? { perTitle: { ...(withHevc ? { codecs: ['h264', 'hevc'] as const } : {}), ...(halfRate ? {} : { halfRate: false }) } } : {}),
          rungFrameSample,
        },
        paths,
      );
      reports[ladderKind] = JSON.parse(await fs.readFile(path.join(outDir, 'ladder.json'), 'utf8')) as LadderReport;
      process.stderr.write(`${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      await fs.rm(outDir, { recursive: true, force: true });
    }
    const fixed = reports.fixed!;
    const both = reports['per-title']!;
    // The H.264 per-title ladder is what the fixed ladder is compared with; the HEVC rungs apart.
    const perTitle: LadderReport = { ...both, rungs: both.rungs.filter((g) => g.codec !== 'hevc') };
    const hevcRungs = both.rungs.filter((g) => g.codec === 'hevc');
    const curve = (r: { rungs: LadderReport['rungs'] }, metric: 'vmaf' | 'psnrDb') => r.rungs.map((g) => ({ bitrateBps: g.averageBitrateBps, quality: g.quality![metric]! }));
    const result: ClipResult = {
      clip,
      fixed,
      perTitle,
      bdRateVmaf: bdRate(curve(fixed, 'vmaf'), curve(perTitle, 'vmaf')),
      bdRatePsnr: bdRate(curve(fixed, 'psnrDb'), curve(perTitle, 'psnrDb')),
      ...(hevcRungs.length > 0 ? { hevc: { rungs: hevcRungs, bdRateVmaf: bdRate(curve(perTitle, 'vmaf'), curve({ rungs: hevcRungs }, 'vmaf')), bdRatePsnr: bdRate(curve(perTitle, 'psnrDb'), curve({ rungs: hevcRungs }, 'psnrDb')) } } : {}),
      analysisMultiple: perTitle.timings.analysisS / perTitle.timings.encodeS,
      rateVsTarget: {
        min: Math.min(...perTitle.rungs.map((g) => g.averageBitrateBps / g.targetBitrateBps)),
        max: Math.max(...perTitle.rungs.map((g) => g.averageBitrateBps / g.targetBitrateBps)),
      },
    };
    results.push(result);
    process.stderr.write(
      `${clip}: BD-rate VMAF ${(result.bdRateVmaf * 100).toFixed(1)}%, PSNR ${(result.bdRatePsnr * 100).toFixed(1)}%, analysis ${result.analysisMultiple.toFixed(2)}x final encode${result.hevc ? `; HEVC vs H.264 per-title BD-rate VMAF ${(result.hevc.bdRateVmaf * 100).toFixed(1)}%, PSNR ${(result.hevc.bdRatePsnr * 100).toFixed(1)}%` : ''}\n`,
    );
  }
} finally {
  await fs.rm(work, { recursive: true, force: true });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const top = (r: LadderReport) => r.rungs[r.rungs.length - 1]!;
const pct = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}%`;
const kbps = (bps: number) => Math.round(bps / 1000).toLocaleString('en-US');
const summary = {
  meanBdRateVmaf: mean(results.map((r) => r.bdRateVmaf)),
  meanBdRatePsnr: mean(results.map((r) => r.bdRatePsnr)),
  worstBdRateVmaf: Math.max(...results.map((r) => r.bdRateVmaf)),
  maxAnalysisMultiple: Math.max(...results.map((r) => r.analysisMultiple)),
};

const rows = results.map((r) => {
  const ft = top(r.fixed);
  const pt = top(r.perTitle);
  return `| ${r.clip} | ${r.fixed.rungs.length} → ${r.perTitle.rungs.length} | ${ft.height}p ${kbps(ft.averageBitrateBps)} (VMAF ${ft.quality!.vmaf!.toFixed(1)}) | ${pt.height}p ${kbps(pt.averageBitrateBps)} (VMAF ${pt.quality!.vmaf!.toFixed(1)}) | ${pct(r.bdRateVmaf)} | ${pct(r.bdRatePsnr)} | ${r.perTitle.timings.analysisS.toFixed(0)} s / ${r.perTitle.timings.encodeS.toFixed(0)} s = ${r.analysisMultiple.toFixed(2)}× | ${r.rateVsTarget.min.toFixed(2)}–${r.rateVsTarget.max.toFixed(2)} |`;
});
const markdown = [
  `Per-title vs fixed ladder (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, transparent huge pages ${thp}, x264 preset ${config.x264Preset} for final encodes, trials veryfast; quality of every published rung measured on ${rungFrameSample === 1 ? 'every frame' : `every ${rungFrameSample}th frame (and its two neighbours)`} against the master at its display size; bitrates are measured average video bitrates; the last column is the per-title rungs' measured bitrate ÷ target).`,
  '',
  '| clip | rungs fixed → per-title | fixed top rung kbit/s | per-title top rung kbit/s | BD-rate VMAF | BD-rate PSNR | analysis / final encode | rung rate ÷ target |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  `| **mean** | | | | **${pct(summary.meanBdRateVmaf)}** | ${pct(summary.meanBdRatePsnr)} | max ${summary.maxAnalysisMultiple.toFixed(2)}× | |`,
  '',
  ...(results.some((r) => r.hevc)
    ? [
        'HEVC per-title ladder (its own trials and hull, libx265 at the same preset) against the H.264 per-title ladder (the analysis and encode times above include both codecs):',
        '',
        '| clip | rungs H.264 → HEVC | HEVC top rung kbit/s | BD-rate VMAF | BD-rate PSNR |',
        '|---|---|---|---|---|',
        ...results.filter((r) => r.hevc).map((r) => `| ${r.clip} | ${r.perTitle.rungs.length} → ${r.hevc!.rungs.length} | ${r.hevc!.rungs.at(-1)!.height}p ${kbps(r.hevc!.rungs.at(-1)!.averageBitrateBps)} (VMAF ${r.hevc!.rungs.at(-1)!.quality!.vmaf!.toFixed(1)}) | ${pct(r.hevc!.bdRateVmaf)} | ${pct(r.hevc!.bdRatePsnr)} |`),
        '',
      ]
    : []),
].join('\n');

await fs.mkdir(OUT, { recursive: true });
await fs.writeFile(
  path.join(OUT, `ladder${tag}.json`),
  `${JSON.stringify({ date: new Date().toISOString(), cores: os.cpus().length, transparentHugePages: thp, x264Preset: config.x264Preset, summary, clips: results.map((r) => ({ clip: r.clip, bdRateVmaf: r.bdRateVmaf, bdRatePsnr: r.bdRatePsnr, ...(r.hevc ? { hevc: r.hevc } : {}), analysisMultiple: r.analysisMultiple, rateVsTarget: r.rateVsTarget, fixed: { rungs: r.fixed.rungs, timings: r.fixed.timings }, perTitle: { rungs: r.perTitle.rungs, timings: r.perTitle.timings, settings: r.perTitle.analysis?.settings, sample: r.perTitle.analysis?.sample } })) }, null, 2)}\n`,
);
await fs.writeFile(path.join(OUT, `ladder${tag}.md`), markdown);

const values = results.flatMap((r) =>
  (['fixed', 'perTitle', 'hevc'] as const).flatMap((k) =>
    (r[k]?.rungs ?? []).map((g) => ({ clip: r.clip.split('_').slice(0, 2).join(' '), ladder: k === 'fixed' ? 'fixed (Apple)' : k === 'hevc' ? 'per-title HEVC' : 'per-title', kbps: g.averageBitrateBps / 1000, vmaf: g.quality!.vmaf!, rung: `${g.width}x${g.height}` })),
  ),
);
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: `Published rungs: measured bitrate vs VMAF (per-title vs fixed ladder${results.some((r) => r.hevc) ? ', and the HEVC per-title ladder' : ''})`,
  data: { values },
  facet: { column: { field: 'clip', type: 'nominal', title: null } },
  spec: {
    width: 300,
    height: 260,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'kbps', type: 'quantitative', scale: { type: 'log' }, title: 'average video bitrate (kbit/s, log)' },
      y: { field: 'vmaf', type: 'quantitative', scale: { zero: false }, title: 'VMAF' },
      color: { field: 'ladder', type: 'nominal' },
      order: { field: 'kbps' },
      tooltip: [{ field: 'rung' }, { field: 'kbps', format: ',.0f' }, { field: 'vmaf', format: '.1f' }],
    },
  },
  config: { background: 'white' },
} as TopLevelSpec;
await fs.writeFile(path.join(OUT, `ladder${tag}.svg`), await renderVegaLiteSvg(spec));
process.stdout.write(`${markdown}\nWrote bench/results/ladder${tag}.json, ladder${tag}.md, ladder${tag}.svg\n`);

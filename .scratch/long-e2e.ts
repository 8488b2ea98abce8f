import { resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';
import { inspectMaster } from '../src/encoder/master-check.js';
import { analyzeTitle } from '../src/encoder/per-title.js';
import { scanSpans } from '../src/encoder/title-complexity.js';
import { planAnalysis } from '../src/encoder/per-title.js';
import { keyframesForSeeking } from '../src/encoder/master-seek.js';
import fs from 'node:fs';
const paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
const ext = process.argv[2] ?? 'mp4';
const file = `/work/scan/long-180p.${ext}`;
if (!fs.existsSync(file)) {
  await runFfmpeg({ inputs: [{ source: 'testsrc2=size=320x180:rate=24:duration=660', format: 'lavfi' }], outputOptions: ['-vf', 'noise=alls=8:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-g', '48', ...(ext === 'ts' ? ['-f', 'mpegts'] : [])], output: file }, paths);
}
const probed = await inspectMaster(file, paths);
const keyframesS = await keyframesForSeeking(file, probed.formatName, paths);
const centred = planAnalysis(probed, 24, { segmentDurationS: 4, keyframesS }).settings.windows;
const spans = scanSpans(probed.durationS, 24, centred)!;
console.log(probed.formatName, probed.durationS, 'spans', spans.length, 'keyframes', keyframesS?.length);
const warn: string[] = [];
const log = { warn: (o: unknown, m: string) => warn.push(m + JSON.stringify(o)), info: () => {}, debug: () => {}, error: () => {} } as never;
const t = performance.now();
const a = await analyzeTitle(file, probed, 24, paths, { segmentDurationS: 4, crfValues: [38, 26], trialPreset: 'ultrafast', search: 'grid', log });
console.log('analysis s', ((performance.now() - t) / 1000).toFixed(1), 'warnings', warn);
for (const w of a.sample.windows) {
  const f = Math.round(w.startS * 24);
  const inside = spans.some((sp) => f >= sp.startFrame && f + Math.round(w.durationS * 24) <= sp.startFrame + sp.frames);
  console.log(w.startS.toFixed(2), w.durationS, inside ? 'in a span' : 'NOT IN SPAN');
}

/**
 * Should the low rungs of a 50/60 fps title run at half its frame rate? Apple's HLS Authoring
 * Specification lists its lowest H.264 rungs at 30 fps or less; the per-title ladder publishes
 * every rung at the master's rate. This bench measures the trade on 60 fps masters: each master
 * is encoded at two small sizes (416x234 and 640x360), at its own rate and at half of it, at four
 * x264 CRFs (medium, as the final encodes), and every encode is scored with VMAF against the
 * master at the master's size **and frame rate** — a half-rate encode has each frame shown
 * twice, so the motion it leaves out counts against it (scoring at the encode's own rate, as the
 * pipeline does for rungs at the master's rate, would drop the reference's frames too and hide
 * exactly that). Reports each RD point and the BD-rate of half rate against full rate per size
 * (negative = half rate needs fewer bits for the same VMAF, over the overlapping VMAF range).
 *
 * Masters: three synthetic 1920x1080 60 fps sources of 4 s — testsrc2 with temporal noise (fast,
 * sharp motion: the bench:ladder 1080p60 master), mandelbrot (a zoom with extreme detail), and a
 * slow pan over a frame of the shared Big Buck Bunny clip (camera-like motion) — plus any files
 * given with --master.
 *
 * Writes bench/results/half-frame-rate.json and half-frame-rate.md.
 * Run: npm run bench:half-frame-rate   (about 40 minutes on 2 cores)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { bdRate } from '../src/encoder/bd-rate.js';
import { resolveFfmpegPaths, runFfmpeg } from '../src/encoder/ffmpeg.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'bench', 'results');
const MEDIA = path.resolve(ROOT, '..', 'shared', 'media');
const SIZES = [
  [416, 234],
  [640, 360],
] as const;
const CRFS = [23, 28, 33, 38];
/** Frames VMAF skips between two scored ones (libvmaf n_subsample): 3 mixes both phases of a repeated frame. */
const VMAF_SUBSAMPLE = 3;

const opts = new Command('bench:half-frame-rate')
  .description('Low rungs of 60 fps masters at full and half frame rate: VMAF at the master\'s rate, BD-rate of half against full.')
  .option('--master <file...>', 'further 50/60 fps masters to measure', [])
  .option('--seconds <s>', 'length of the synthetic masters', (v) => Number(v), 4)
  .parse()
  .opts<{ master: string[]; seconds: number }>();

const config = loadConfig(process.env);
const paths = resolveFfmpegPaths(config);
const model = config.vmafModelPath ?? path.resolve(ROOT, '..', 'shared', 'vmaf', 'vmaf_v0.6.1.pkl');
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'half-frame-rate-'));

async function makeMasters(): Promise<{ name: string; file: string }[]> {
  const s = opts.seconds;
  const lossless = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '10', '-pix_fmt', 'yuv420p', '-t', String(s)];
  const still = path.join(work, 'frame.png');
  await runFfmpeg({ inputs: [{ source: path.join(MEDIA, 'bbb_anim_1280x720_24fps_10s_aac.mp4'), options: ['-ss', '5'] }], outputOptions: ['-frames:v', '1', '-vf', 'scale=2880:1620:flags=lanczos'], output: still }, paths);
  const masters = [
    { name: 'testsrc2 + noise (fast motion)', file: path.join(work, 'testsrc2.mp4'), inputs: [{ source: 'testsrc2=size=1920x1080:rate=60,noise=alls=6:allf=t', format: 'lavfi' }] },
    { name: 'mandelbrot (zoom, extreme detail)', file: path.join(work, 'mandelbrot.mp4'), inputs: [{ source: 'mandelbrot=size=1920x1080:rate=60', format: 'lavfi' }] },
    { name: 'slow pan over a Big Buck Bunny frame', file: path.join(work, 'pan.mp4'), inputs: [{ source: still, options: ['-loop', '1', '-framerate', '60'] }], vf: "crop=1920:1080:x='t*60':y='t*20',noise=alls=3:allf=t" },
  ];
  for (const m of masters) {
    process.stderr.write(`making ${m.name}…\n`);
    await runFfmpeg({ inputs: m.inputs, outputOptions: [...(m.vf ? ['-vf', m.vf] : []), ...lossless], output: m.file }, paths);
  }
  return [...masters.map(({ name, file }) => ({ name, file })), ...opts.master.map((f) => ({ name: path.basename(f), file: path.resolve(f) }))];
}

async function probe(file: string): Promise<{ width: number; height: number; frameRate: number }> {
  const { stdout } = await run(paths.ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate', '-of', 'json', file]);
  const s = (JSON.parse(stdout) as { streams: { width: number; height: number; avg_frame_rate: string }[] }).streams[0]!;
  const [n, d] = s.avg_frame_rate.split('/').map(Number);
  return { width: s.width, height: s.height, frameRate: n! / (d || 1) };
}

/** VMAF of `encoded` against `master`, at the master's size and frame rate (frames of a lower-rate encode repeated). */
async function vmaf(encoded: string, master: { file: string; width: number; height: number; frameRate: number }): Promise<number> {
  const log = `${encoded}.vmaf.json`;
  const graph = `[0:v]scale=${master.width}:${master.height}:flags=bicubic,fps=${master.frameRate},setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf=model_path=${model}:log_path=${log}:log_fmt=json:n_threads=${os.availableParallelism()}:n_subsample=${VMAF_SUBSAMPLE}:shortest=1`;
  await run(paths.ffmpegPath, ['-v', 'error', '-i', encoded, '-i', master.file, '-lavfi', graph, '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
  const frames = (JSON.parse(await fs.readFile(log, 'utf8')) as { frames: { metrics: { vmaf: number } }[] }).frames;
  return frames.reduce((a, f) => a + f.metrics.vmaf, 0) / frames.length;
}

interface Point { master: string; width: number; height: number; frameRate: number; crf: number; bitrateBps: number; vmaf: number }
const points: Point[] = [];
const started = Date.now();
for (const m of await makeMasters()) {
  const info = { file: m.file, ...(await probe(m.file)) };
  if (info.frameRate < 48) throw new Error(`${m.name} runs at ${info.frameRate.toFixed(2)} fps: this bench is for 50/60 fps masters`);
  for (const [w, h] of SIZES) {
    for (const frameRate of [info.frameRate, info.frameRate / 2]) {
      for (const crf of CRFS) {
        const out = path.join(work, `${path.basename(m.file, path.extname(m.file))}_${w}x${h}_${frameRate}_${crf}.mp4`);
        await runFfmpeg({ inputs: [{ source: m.file }], outputOptions: ['-vf', `fps=${frameRate},scale=${w}:${h}`, '-c:v', 'libx264', '-preset', 'medium', '-crf', String(crf), '-an'], output: out }, paths);
        const { stdout } = await run(paths.ffprobePath, ['-v', 'error', '-show_entries', 'format=duration,size', '-of', 'json', out]);
        const fmt = (JSON.parse(stdout) as { format: { duration: string; size: string } }).format;
        const p = { master: m.name, width: w, height: h, frameRate, crf, bitrateBps: (Number(fmt.size) * 8) / Number(fmt.duration), vmaf: await vmaf(out, info) };
        points.push(p);
        process.stderr.write(`${m.name} ${w}x${h} ${frameRate} fps CRF ${crf}: ${(p.bitrateBps / 1000).toFixed(1)} kbit/s, VMAF ${p.vmaf.toFixed(2)}\n`);
      }
    }
  }
}

const rows: string[] = [];
const summary: { master: string; size: string; bdRatePercent: number | null; note?: string }[] = [];
for (const master of [...new Set(points.map((p) => p.master))]) {
  for (const [w, h] of SIZES) {
    const here = points.filter((p) => p.master === master && p.width === w);
    const full = Math.max(...here.map((p) => p.frameRate));
    // Points scored near zero carry no rate-quality information (VMAF clips at 0).
    const curve = (fr: number) => here.filter((p) => p.frameRate === fr && p.vmaf >= 5).map((p) => ({ bitrateBps: p.bitrateBps, quality: p.vmaf }));
    let bd: number | null = null;
    let note: string | undefined;
    try {
      bd = bdRate(curve(full), curve(full / 2)) * 100;
    } catch (err) {
      note = (err as Error).message;
    }
    summary.push({ master, size: `${w}x${h}`, bdRatePercent: bd, ...(note ? { note } : {}) });
    const cell = (fr: number) => here.filter((p) => p.frameRate === fr).map((p) => `${(p.bitrateBps / 1000).toFixed(0)}k/${p.vmaf.toFixed(1)}`).join(', ');
    rows.push(`| ${master} | ${w}x${h} | ${cell(full)} | ${cell(full / 2)} | ${bd === null ? `n/a (${note})` : `${bd >= 0 ? '+' : '−'}${Math.abs(bd).toFixed(1)}%`} |`);
  }
}
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const md = [
  `# Low rungs at half the frame rate (npm run bench:half-frame-rate, ${when} UTC, ${os.availableParallelism()} cores, ${((Date.now() - started) / 60_000).toFixed(1)} min)`,
  '',
  `x264 medium, CRF ${CRFS.join('/')}; VMAF v0.6.1 against the master at its size and frame rate (every ${VMAF_SUBSAMPLE}rd frame), a half-rate encode's frames repeated. Cells: kbit/s / VMAF, CRF ascending. BD-rate: half rate against full rate over the overlapping VMAF range (points below VMAF 5 left out); negative = half rate saves bits.`,
  '',
  '| master | size | full rate | half rate | BD-rate half vs full |',
  '|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
await fs.mkdir(OUT, { recursive: true });
await fs.writeFile(path.join(OUT, 'half-frame-rate.md'), md);
await fs.writeFile(path.join(OUT, 'half-frame-rate.json'), `${JSON.stringify({ when, crfs: CRFS, vmafSubsample: VMAF_SUBSAMPLE, points, summary }, null, 2)}\n`);
await fs.rm(work, { recursive: true, force: true });
process.stdout.write(md);

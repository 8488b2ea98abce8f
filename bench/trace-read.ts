/**
 * How long reading a large cache trace takes, and how much memory: writes synthetic libCacheSim
 * oracleGeneral files (the first TRACE_OBJECTS requests each for a new object, the rest skewed
 * towards low ids by a cubed uniform draw; sizes 1,000–50,999 bytes; ids spread over 64 bits),
 * compresses one with Debian's `zstd`, and times `readTrace` on each in a process of its own
 * (peak resident memory from `process.resourceUsage().maxRSS`).
 *
 *   npm run bench:trace-read
 *   TRACE_SIZES=30000000:12000000,40000000:20000000 npm run bench:trace-read   # requests:objects,…
 *
 * Writes bench/results/trace-read.{md,json}. The files (about 24 bytes per request) go to a temp
 * folder and are removed at the end.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readTrace } from '../src/simulator/trace-readers.js';

const run = promisify(execFile);

/** Child mode: read one file, print one JSON line. */
async function readOne(file: string): Promise<void> {
  const started = performance.now();
  try {
    const t = await readTrace(file);
    process.stdout.write(`${JSON.stringify({ ok: true, requests: t.requests, objects: t.uniqueObjects, seconds: (performance.now() - started) / 1000, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: (err as Error).message, seconds: (performance.now() - started) / 1000, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
  }
}

/** Writes `requests` oracleGeneral records over `objects` objects (xorshift32 draws, seed fixed). */
function writeTrace(file: string, requests: number, objects: number): void {
  const fd = fs.openSync(file, 'w');
  const batch = 1 << 16;
  const buf = Buffer.alloc(batch * 24);
  let r = 0x9e3779b9;
  const uniform = () => {
    r ^= r << 13;
    r ^= r >>> 17;
    r ^= r << 5;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < requests; ) {
    const k = Math.min(batch, requests - i);
    for (let j = 0; j < k; j++, i++) {
      const obj = i < objects ? i : Math.floor(objects * uniform() ** 3);
      const o = j * 24;
      buf.writeUInt32LE(Math.floor(i / 1000), o);
      buf.writeUInt32LE(Math.imul(obj, 2654435761) >>> 0, o + 4);
      buf.writeUInt32LE(obj % 1000, o + 8);
      buf.writeUInt32LE(1000 + (obj % 50000), o + 12);
      buf.writeBigInt64LE(-1n, o + 16);
    }
    fs.writeSync(fd, buf, 0, k * 24);
  }
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--read') return readOne(process.argv[3]!);
  const sizes = (process.env.TRACE_SIZES ?? '30000000:12000000,40000000:20000000').split(',').map((s) => s.split(':').map(Number) as [number, number]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vod-trace-read-'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const [requests, objects] of sizes) {
      const file = path.join(dir, `synthetic-${requests}-${objects}.oracleGeneral.bin`);
      writeTrace(file, requests, objects);
      const files = [file];
      if (rows.length === 0) {
        await run('zstd', ['-q', '-T0', file, '-o', `${file.replace(/\.bin$/, '')}.zst`]);
        files.push(`${file.replace(/\.bin$/, '')}.zst`);
      }
      for (const f of files) {
        const { stdout } = await run(process.execPath, [...process.execArgv, process.argv[1]!, '--read', f], { maxBuffer: 1 << 20 });
        const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
        const row = { file: path.basename(f), fileBytes: fs.statSync(f).size, requests, objects, ...r };
        rows.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const out = path.resolve(import.meta.dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  const date = new Date().toISOString();
  fs.writeFileSync(path.join(out, 'trace-read.json'), `${JSON.stringify({ date, cores: os.availableParallelism(), node: process.version, rows }, null, 2)}\n`);
  const md = [
    `readTrace on synthetic oracleGeneral traces (${date}, ${os.availableParallelism()} cores, each read in a process of its own).`,
    '',
    '| file | MB | requests | objects | read s | peak RSS GB | result |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.file} | ${((r.fileBytes as number) / 1e6).toFixed(0)} | ${(r.requests as number).toLocaleString('en')} | ${(r.objects as number).toLocaleString('en')} | ${(r.seconds as number).toFixed(1)} | ${((r.maxRssBytes as number) / 1e9).toFixed(2)} | ${r.ok ? 'ok' : String(r.error).slice(0, 60)} |`),
  ];
  fs.writeFileSync(path.join(out, 'trace-read.md'), `${md.join('\n')}\n`);
  process.stdout.write(`${md.join('\n')}\nWrote bench/results/trace-read.{md,json}\n`);
}

await main();

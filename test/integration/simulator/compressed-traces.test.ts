/**
 * Compressed and large traces through the real readers and the real `zstd`, `xz` and `bzip2`
 * programs: every compression gives the same requests as the plain file, a damaged file fails
 * the read (never a shorter trace), and formats we do not open are named.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTrace } from '../../../src/simulator/trace-readers.js';
import type { Trace } from '../../../src/simulator/trace.js';
import { runCli } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
const SHARED = path.resolve(import.meta.dirname, '../../../../shared/traces/cache');
const CSV = path.join(SHARED, 'adaptsize_request.csv');
const BIN = path.join(SHARED, 'adaptsize_request.oracleGeneral.bin');

let dir: string;
let plainCsv: Trace;
let plainBin: Trace;

function sameRequests(a: Trace, b: Trace): void {
  expect(a.requests).toBe(b.requests);
  expect(a.uniqueObjects).toBe(b.uniqueObjects);
  expect(a.uniqueBytes).toBe(b.uniqueBytes);
  expect(Buffer.from(a.ids.buffer, a.ids.byteOffset, a.ids.byteLength).equals(Buffer.from(b.ids.buffer, b.ids.byteOffset, b.ids.byteLength))).toBe(true);
  expect(Buffer.from(a.sizes.buffer, a.sizes.byteOffset, a.sizes.byteLength).equals(Buffer.from(b.sizes.buffer, b.sizes.byteOffset, b.sizes.byteLength))).toBe(true);
  expect(Buffer.from(a.times.buffer, a.times.byteOffset, a.times.byteLength).equals(Buffer.from(b.times.buffer, b.times.byteOffset, b.times.byteLength))).toBe(true);
  expect(a.sourceIds.get(a.uniqueObjects - 1)).toEqual(b.sourceIds.get(b.uniqueObjects - 1));
}

beforeAll(async () => {
  dir = await makeTempDir();
  plainCsv = await readTrace(CSV);
  plainBin = await readTrace(BIN);
  // zstd as libCacheSim's public traces are made (a long window), xz, gzip.
  await run('zstd', ['-q', '--long=27', '-19', BIN, '-o', path.join(dir, 'adaptsize.oracleGeneral.zst')]);
  await run('zstd', ['-q', CSV, '-o', path.join(dir, 'adaptsize.csv.zst')]);
  await run('xz', ['-k', '-c', CSV], { encoding: 'buffer', maxBuffer: 1 << 26 }).then(({ stdout }) => fs.writeFile(path.join(dir, 'adaptsize.csv.xz'), stdout));
  const csv = await fs.readFile(CSV);
  await fs.writeFile(path.join(dir, 'adaptsize.csv.gz'), gzipSync(csv));
  // Compressed without saying so in its name: the content decides.
  await fs.copyFile(path.join(dir, 'adaptsize.oracleGeneral.zst'), path.join(dir, 'adaptsize.oracleGeneral.bin'));
}, 120_000);

describe('compressed traces', () => {
  it('read as the same requests as the plain file: zstd (long window), gzip, xz, and zstd behind a plain name', async () => {
    sameRequests(await readTrace(path.join(dir, 'adaptsize.oracleGeneral.zst')), plainBin);
    sameRequests(await readTrace(path.join(dir, 'adaptsize.oracleGeneral.bin')), plainBin);
    sameRequests(await readTrace(path.join(dir, 'adaptsize.csv.zst')), plainCsv);
    sameRequests(await readTrace(path.join(dir, 'adaptsize.csv.gz')), plainCsv);
    sameRequests(await readTrace(path.join(dir, 'adaptsize.csv.xz')), plainCsv);
  });

  it('reads a gzip-compressed edge access log, the way logrotate leaves it', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ path: `/vod/t/video_${i % 97}.m4s`, bytes: 1000 + (i % 97), time: i }));
    await fs.writeFile(path.join(dir, 'access.jsonl.gz'), gzipSync(`${lines.join('\n')}\n`));
    const t = await readTrace(path.join(dir, 'access.jsonl.gz'));
    expect(t.requests).toBe(5000);
    expect(t.uniqueObjects).toBe(97);
    expect(t.sourceIds.get(5)).toBe('/vod/t/video_5.m4s');
  });

  it('fails the read of a truncated file instead of returning the requests before the cut', async () => {
    for (const name of ['adaptsize.oracleGeneral.zst', 'adaptsize.csv.zst', 'adaptsize.csv.gz', 'adaptsize.csv.xz']) {
      const whole = await fs.readFile(path.join(dir, name));
      const cut = path.join(dir, `cut-${name}`);
      await fs.writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
      await expect(readTrace(cut), name).rejects.toThrow(/does not decompress|unexpected end of file/i);
    }
    const lines = Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ path: `/vod/t/${i}.m4s`, bytes: 100 }));
    const log = gzipSync(`${lines.join('\n')}\n`);
    await fs.writeFile(path.join(dir, 'cut-access.jsonl.gz'), log.subarray(0, Math.floor(log.length * 0.6)));
    await expect(readTrace(path.join(dir, 'cut-access.jsonl.gz'))).rejects.toThrow(/unexpected end of file/i);
  });

  it('names the line of a malformed row inside a compressed CSV, stopping the decompressor early', async () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => `${i},${i % 5000},${100 + (i % 7)}`);
    rows[1234] = '1234,77,lots';
    await fs.writeFile(path.join(dir, 'bad.csv'), `time,obj_id,obj_size\n${rows.join('\n')}\n`);
    await run('zstd', ['-q', '-f', path.join(dir, 'bad.csv'), '-o', path.join(dir, 'bad.csv.zst')]);
    await expect(readTrace(path.join(dir, 'bad.csv.zst'))).rejects.toThrow(/bad\.csv\.zst line 1236: expected an id in column 2 and a size in column 3/);
  });

  it('names formats it does not open (bzip2, ZIP) and what to do', async () => {
    await run('bzip2', ['-k', '-c', CSV], { encoding: 'buffer', maxBuffer: 1 << 26 })
      .then(({ stdout }) => fs.writeFile(path.join(dir, 'adaptsize.csv.bz2'), stdout))
      .catch(async () => fs.writeFile(path.join(dir, 'adaptsize.csv.bz2'), Buffer.from('BZh91AY&SY\u0000\u0000', 'latin1')));
    await expect(readTrace(path.join(dir, 'adaptsize.csv.bz2'))).rejects.toThrow(/adaptsize\.csv\.bz2 is bzip2-compressed.*bunzip2 -k/);
    await fs.writeFile(path.join(dir, 'trace.zip'), Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60)]));
    await expect(readTrace(path.join(dir, 'trace.zip'))).rejects.toThrow(/trace\.zip is a ZIP archive; unzip it/);
  });

  it('vod bench hit-ratio runs on a .zst trace, names its results without the suffixes, and says why a damaged one cannot be read', async () => {
    const out = path.join(dir, 'results');
    const ok = await runCli(['bench', 'hit-ratio', '--trace', path.join(dir, 'adaptsize.oracleGeneral.zst'), '--policies', 'lru', '--sizes', '10%', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/66,987 requests, 36,815 objects/);
    expect((await fs.readdir(out)).sort()).toEqual(['hit-ratio-adaptsize.csv', 'hit-ratio-adaptsize.json', 'hit-ratio-adaptsize.svg']);
    const bad = await runCli(['bench', 'hit-ratio', '--trace', path.join(dir, 'cut-adaptsize.oracleGeneral.zst'), '--policies', 'lru', '--out', out]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^vod: Cannot read trace .*cut-adaptsize\.oracleGeneral\.zst: cut-adaptsize\.oracleGeneral\.zst does not decompress \(zstd exit 1: .+\)\.\n$/);
  }, 60_000);
});

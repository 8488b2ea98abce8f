import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextAccessIndices, traceFromPairs } from '../../../src/simulator/trace.js';
import { readAccessLogTrace, readCsvTrace, readOracleGeneralTrace, readTrace, writeOracleGeneralTrace } from '../../../src/simulator/trace-readers.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const SHARED = path.resolve(import.meta.dirname, '../../../../shared/traces/cache');

function oracleRecord(time: number, id: bigint, size: number, next: bigint): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(time, 0);
  b.writeBigUInt64LE(id, 4);
  b.writeUInt32LE(size, 12);
  b.writeBigInt64LE(next, 16);
  return b;
}

describe('trace readers', () => {
  it('reads a CSV with a header, renumbering ids by first appearance and skipping size 0', async () => {
    const dir = await makeTempDir();
    const f = path.join(dir, 't.csv');
    await fs.writeFile(f, 'time,obj_id,obj_size\n1,900,10\n2,7,20\n3,900,10\n4,5,0\n');
    const t = await readCsvTrace(f);
    expect(Array.from(t.ids)).toEqual([0, 1, 0]);
    expect(Array.from(t.sizes)).toEqual([10, 20, 10]);
    expect([t.sourceIds.get(0), t.sourceIds.get(1)]).toEqual([900, 7]);
    expect(t.uniqueBytes).toBe(30);
  });

  it('reads libCacheSim-style CSV with other columns, no header and another delimiter', async () => {
    const dir = await makeTempDir();
    const f = path.join(dir, 't.txt');
    await fs.writeFile(f, 'a;100;key1\nb;200;key2\nc;100;key1\n');
    const t = await readCsvTrace(f, { idColumn: 3, sizeColumn: 2, timeColumn: 0, hasHeader: false, delimiter: ';' });
    expect(Array.from(t.ids)).toEqual([0, 1, 0]);
    expect(Array.from(t.sizes)).toEqual([100, 200, 100]);
  });

  it('names the line of a malformed row', async () => {
    const dir = await makeTempDir();
    const f = path.join(dir, 'bad.csv');
    await fs.writeFile(f, 'time,obj_id,obj_size\n1,1,10\n2,2,lots\n');
    await expect(readCsvTrace(f)).rejects.toThrow(/bad\.csv line 3/);
  });

  it('reads oracleGeneral records, including ids above 2^53', async () => {
    const dir = await makeTempDir();
    const f = path.join(dir, 't.oracleGeneral.bin');
    const big = (1n << 60n) + 5n;
    await fs.writeFile(f, Buffer.concat([oracleRecord(1, 42n, 100, 3n), oracleRecord(2, big, 7, -1n), oracleRecord(3, 42n, 100, -1n)]));
    const t = await readOracleGeneralTrace(f);
    expect(Array.from(t.ids)).toEqual([0, 1, 0]);
    expect([t.sourceIds.get(0), t.sourceIds.get(1)]).toEqual([42, big.toString()]);
    expect(Array.from(t.times)).toEqual([1, 2, 3]);
    await fs.writeFile(f, Buffer.alloc(25));
    await expect(readOracleGeneralTrace(f)).rejects.toThrow(/not a multiple of 24/);
  });

  it('reads the edge access log', async () => {
    const dir = await makeTempDir();
    const f = path.join(dir, 'access.jsonl');
    await fs.writeFile(f, ['{"path":"/vod/a/1.m4s","bytes":10,"time":5}', '{"path":"/vod/a/2.m4s","bytes":20}', '{"path":"/vod/a/1.m4s","bytes":10}', ''].join('\n'));
    const t = await readAccessLogTrace(f);
    expect(Array.from(t.ids)).toEqual([0, 1, 0]);
    expect(t.times[0]).toBe(5);
  });

  it('agrees between the CSV and oracleGeneral copies of the shared traces, and with their README', async () => {
    const csv = await readTrace(path.join(SHARED, 'adaptsize_request.csv'));
    const bin = await readTrace(path.join(SHARED, 'adaptsize_request.oracleGeneral.bin'));
    expect(csv.requests).toBe(66_987);
    expect(csv.uniqueObjects).toBe(36_815);
    expect(csv.uniqueBytes).toBe(278_854_232);
    expect(bin.requests).toBe(csv.requests);
    expect(Array.from(bin.ids)).toEqual(Array.from(csv.ids));
    expect(Array.from(bin.sizes)).toEqual(Array.from(csv.sizes));
  });

  it('writes oracleGeneral byte for byte as the shared copy of a trace', async () => {
    const original = path.join(SHARED, 'tencent_photo_sample.oracleGeneral.bin');
    const out = path.join(await makeTempDir(), 'copy.oracleGeneral.bin');
    await writeOracleGeneralTrace(await readOracleGeneralTrace(original), out);
    expect((await fs.readFile(out)).equals(await fs.readFile(original))).toBe(true);
  });

  it('computes next-access indices like oracleGeneral next_access_vtime (0-based)', async () => {
    const t = traceFromPairs('x', [[1, 1], [2, 1], [1, 1], [3, 1], [2, 1]]);
    expect(Array.from(nextAccessIndices(t))).toEqual([2, 4, Infinity, Infinity, Infinity]);
    const bin = await readOracleGeneralTrace(path.join(SHARED, 'tencent_photo_sample.oracleGeneral.bin'));
    const raw = await fs.readFile(path.join(SHARED, 'tencent_photo_sample.oracleGeneral.bin'));
    const ours = nextAccessIndices(bin);
    for (let i = 0; i < bin.requests; i++) {
      const v = Number(raw.readBigInt64LE(i * 24 + 16));
      expect(ours[i]).toBe(v === -1 ? Infinity : v - 1); // the file's index is 1-based
    }
  });
});

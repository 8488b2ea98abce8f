/**
 * Readers of real request traces into a `Trace`:
 * - CSV with a header `time,obj_id,obj_size` (the bundled traces, see
 *   ../shared/traces/cache/README.md), or libCacheSim-style CSV with configurable 1-based
 *   columns, header and delimiter (libCacheSim's `csv` trace type: obj-id-col, obj-size-col,
 *   time-col, has-header, delimiter); parsing by csv-parse;
 * - libCacheSim's binary oracleGeneral format: packed little-endian 24-byte records
 *   `uint32 time, uint64 obj_id, uint32 obj_size, int64 next_access_vtime`;
 * - the edge's own access log (JSON lines with `path` and `bytes`).
 * Requests of size 0 are skipped (as libCacheSim does with ignore_size_zero_req).
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { parse } from 'csv-parse';
import { nextAccessIndices, TraceBuilder, type Trace } from './trace.js';

export interface CsvTraceOptions {
  /** 1-based column of the object id. Default 2. */
  readonly idColumn?: number;
  /** 1-based column of the size in bytes; 0 = no sizes (every object 1 byte). Default 3. */
  readonly sizeColumn?: number;
  /** 1-based column of the time; 0 = use the row number. Default 1. */
  readonly timeColumn?: number;
  /** The first row is a header. Default true. */
  readonly hasHeader?: boolean;
  readonly delimiter?: string;
}

/**
 * Reads a CSV trace.
 * @throws Error naming the file and line of the first malformed row.
 */
export async function readCsvTrace(file: string, options: CsvTraceOptions = {}): Promise<Trace> {
  const { idColumn = 2, sizeColumn = 3, timeColumn = 1, hasHeader = true, delimiter = ',' } = options;
  const builder = new TraceBuilder();
  const parser = createReadStream(file).pipe(parse({ delimiter, from_line: hasHeader ? 2 : 1, relax_column_count: true, skip_empty_lines: true, trim: true }));
  let line = hasHeader ? 1 : 0;
  for await (const row of parser as AsyncIterable<string[]>) {
    line++;
    const idText = row[idColumn - 1];
    const size = sizeColumn > 0 ? Number(row[sizeColumn - 1]) : 1;
    const time = timeColumn > 0 ? Number(row[timeColumn - 1]) : line;
    if (idText === undefined || idText === '' || !Number.isFinite(size) || size < 0 || !Number.isFinite(time)) {
      throw new Error(`${path.basename(file)} line ${line}: expected an id in column ${idColumn} and a size in column ${sizeColumn}, got ${JSON.stringify(row.join(delimiter)).slice(0, 120)}`);
    }
    if (size === 0) continue;
    const n = Number(idText);
    builder.add(/^\d+$/.test(idText) && Number.isSafeInteger(n) ? n : idText, size, time);
  }
  return builder.build(path.basename(file));
}

/** Bytes per oracleGeneral record. */
export const ORACLE_GENERAL_RECORD_BYTES = 24;

/**
 * Reads a libCacheSim oracleGeneral binary trace.
 * @throws Error when the file size is not a multiple of 24 bytes.
 */
export async function readOracleGeneralTrace(file: string): Promise<Trace> {
  const buf = await fs.readFile(file);
  if (buf.length % ORACLE_GENERAL_RECORD_BYTES !== 0) {
    throw new Error(`${path.basename(file)} is not an oracleGeneral trace: ${buf.length} bytes is not a multiple of ${ORACLE_GENERAL_RECORD_BYTES}`);
  }
  const n = buf.length / ORACLE_GENERAL_RECORD_BYTES;
  const builder = new TraceBuilder(n);
  for (let i = 0, o = 0; i < n; i++, o += ORACLE_GENERAL_RECORD_BYTES) {
    const time = buf.readUInt32LE(o);
    const lo = buf.readUInt32LE(o + 4);
    const hi = buf.readUInt32LE(o + 8);
    const size = buf.readUInt32LE(o + 12);
    if (size === 0) continue;
    // Ids below 2^53 stay numbers; larger ones become exact decimal strings.
    const id = hi < 0x200000 ? hi * 0x100000000 + lo : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
    builder.add(id, size, time);
  }
  return builder.build(path.basename(file));
}

/**
 * Writes a trace as a libCacheSim oracleGeneral binary (24-byte records: uint32 time, uint64
 * object id, uint32 size, int64 1-based index of the next request for the object or -1), so
 * libCacheSim's `cachesim` and our reader see the same requests. Source ids that are not
 * unsigned integers are written as their dense ids; times are truncated to whole units.
 * @throws RangeError when a size or time does not fit 32 bits.
 */
export async function writeOracleGeneralTrace(trace: Trace, file: string): Promise<void> {
  const buf = Buffer.alloc(trace.requests * ORACLE_GENERAL_RECORD_BYTES);
  const next = nextAccessIndices(trace);
  for (let i = 0, o = 0; i < trace.requests; i++, o += ORACLE_GENERAL_RECORD_BYTES) {
    const id = trace.ids[i]!;
    const source = trace.sourceIds[id];
    const key = typeof source === 'number' && Number.isSafeInteger(source) && source >= 0 ? BigInt(source) : typeof source === 'string' && /^\d+$/.test(source) ? BigInt(source) : BigInt(id);
    const size = trace.sizes[i]!;
    const time = Math.trunc(trace.times[i]!);
    if (!(size >= 1 && size <= 0xffffffff) || !(time >= 0 && time <= 0xffffffff)) throw new RangeError(`request ${i}: size ${size} or time ${time} does not fit an oracleGeneral record`);
    buf.writeUInt32LE(time, o);
    buf.writeBigUInt64LE(key, o + 4);
    buf.writeUInt32LE(size, o + 12);
    buf.writeBigInt64LE(Number.isFinite(next[i]!) ? BigInt(next[i]! + 1) : -1n, o + 16);
  }
  await fs.writeFile(file, buf);
}

/**
 * Reads the edge's access log (one JSON object per line with `path` and `bytes`, as
 * `vod edge --access-log` writes): each line is a request for object `path` of `bytes`.
 */
export async function readAccessLogTrace(file: string): Promise<Trace> {
  const builder = new TraceBuilder();
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    let entry: { path?: unknown; bytes?: unknown; time?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      throw new Error(`${path.basename(file)} line ${n} is not JSON`);
    }
    if (typeof entry.path !== 'string' || typeof entry.bytes !== 'number') continue;
    if (entry.bytes <= 0) continue;
    builder.add(entry.path, entry.bytes, typeof entry.time === 'number' ? entry.time : n);
  }
  return builder.build(path.basename(file));
}

/**
 * Reads a trace, choosing the reader by file name: `*.oracleGeneral*` or `*.bin` →
 * oracleGeneral, `*.jsonl` / `*.log` → access log, anything else → CSV.
 */
export async function readTrace(file: string, csv: CsvTraceOptions = {}): Promise<Trace> {
  const name = path.basename(file).toLowerCase();
  if (name.includes('oraclegeneral') || name.endsWith('.bin')) return readOracleGeneralTrace(file);
  if (name.endsWith('.jsonl') || name.endsWith('.log')) return readAccessLogTrace(file);
  return readCsvTrace(file, csv);
}

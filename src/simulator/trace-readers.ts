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
 * Any of them may be compressed with Zstandard, gzip or xz (trace-input.ts), and is read as a
 * stream: a trace may be larger than memory allows a file to be read whole (Node reads at most
 * 2 GiB at once; libCacheSim's public traces run to tens of GB).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { openTraceInput, type TraceInput } from './trace-input.js';
import { nextAccessIndices, TraceBuilder, type Trace } from './trace.js';

/** Called as a trace file is read: bytes of the file read so far and its size on disk. */
export type TraceReadProgress = (bytesRead: number, fileBytes: number) => void;

/** Reports progress at most every 4 MiB of the file. */
function progressReporter(input: TraceInput, onProgress: TraceReadProgress | undefined): () => void {
  if (!onProgress) return () => {};
  let reported = 0;
  return () => {
    const read = input.bytesRead();
    if (read - reported >= 1 << 22 || read === input.fileBytes) {
      reported = read;
      onProgress(read, input.fileBytes);
    }
  };
}

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
 * @throws Error naming the file and line of the first malformed row, or saying why a
 *   compressed file does not decompress.
 */
export async function readCsvTrace(file: string, options: CsvTraceOptions = {}, onProgress?: TraceReadProgress): Promise<Trace> {
  return readCsvInput(file, await openTraceInput(file), options, onProgress);
}

async function readCsvInput(file: string, input: TraceInput, options: CsvTraceOptions, onProgress: TraceReadProgress | undefined): Promise<Trace> {
  const { idColumn = 2, sizeColumn = 3, timeColumn = 1, hasHeader = true, delimiter = ',' } = options;
  const builder = new TraceBuilder();
  const parser = parse({ delimiter, from_line: hasHeader ? 2 : 1, relax_column_count: true, skip_empty_lines: true, trim: true });
  // pipeline, not pipe: a decompression error must fail the read, not end it early.
  const piped = pipeline(input.stream, parser);
  piped.catch(() => {});
  const progress = progressReporter(input, onProgress);
  let line = hasHeader ? 1 : 0;
  for await (const row of parser as AsyncIterable<string[]>) {
    line++;
    if ((line & 0xffff) === 0) progress();
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
  await piped;
  progress();
  return builder.build(path.basename(file));
}

/** Bytes per oracleGeneral record. */
export const ORACLE_GENERAL_RECORD_BYTES = 24;

/**
 * Reads a libCacheSim oracleGeneral binary trace (plain or compressed), record by record as
 * the file streams in.
 * @throws Error when its (decompressed) size is not a multiple of 24 bytes, or saying why a
 *   compressed file does not decompress.
 */
export async function readOracleGeneralTrace(file: string, onProgress?: TraceReadProgress): Promise<Trace> {
  return readOracleGeneralInput(file, await openTraceInput(file), onProgress);
}

async function readOracleGeneralInput(file: string, input: TraceInput, onProgress: TraceReadProgress | undefined): Promise<Trace> {
  const builder = new TraceBuilder(input.compression ? undefined : Math.floor(input.fileBytes / ORACLE_GENERAL_RECORD_BYTES));
  const progress = progressReporter(input, onProgress);
  let carry: Buffer = Buffer.alloc(0);
  let total = 0;
  for await (const chunk of input.stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = buf.length - (buf.length % ORACLE_GENERAL_RECORD_BYTES);
    for (let o = 0; o < whole; o += ORACLE_GENERAL_RECORD_BYTES) {
      const size = buf.readUInt32LE(o + 12);
      if (size === 0) continue;
      const lo = buf.readUInt32LE(o + 4);
      const hi = buf.readUInt32LE(o + 8);
      // Ids below 2^53 stay numbers; larger ones become exact decimal strings.
      const id = hi < 0x200000 ? hi * 0x100000000 + lo : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
      builder.add(id, size, buf.readUInt32LE(o));
    }
    carry = buf.subarray(whole);
    progress();
  }
  if (carry.length) {
    throw new Error(`${path.basename(file)} is not an oracleGeneral trace: ${total} bytes${input.compression ? ` (decompressed)` : ''} is not a multiple of ${ORACLE_GENERAL_RECORD_BYTES}`);
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
    const source = trace.sourceIds.get(id);
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
 * @throws Error naming the first line that is not JSON, or saying why a compressed file does
 *   not decompress.
 */
export async function readAccessLogTrace(file: string, onProgress?: TraceReadProgress): Promise<Trace> {
  return readAccessLogInput(file, await openTraceInput(file), onProgress);
}

async function readAccessLogInput(file: string, input: TraceInput, onProgress: TraceReadProgress | undefined): Promise<Trace> {
  const builder = new TraceBuilder();
  const progress = progressReporter(input, onProgress);
  const lines = readline.createInterface({ input: input.stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if ((n & 0xffff) === 0) progress();
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
  progress();
  return builder.build(path.basename(file));
}

/**
 * Reads a trace, choosing the reader by file name without its compression suffix
 * (`a.oracleGeneral.zst` is oracleGeneral): `*.oracleGeneral*` or `*.bin` → oracleGeneral,
 * `*.jsonl` / `*.log` → access log, anything else → CSV. Compression is found by content.
 * @param onProgress called as the file is read (bytes read, file size; at most every 4 MiB).
 * @throws Error from the chosen reader.
 */
export async function readTrace(file: string, csv: CsvTraceOptions = {}, onProgress?: TraceReadProgress): Promise<Trace> {
  const input = await openTraceInput(file);
  const name = input.innerName.toLowerCase();
  if (name.includes('oraclegeneral') || name.endsWith('.bin')) return readOracleGeneralInput(file, input, onProgress);
  if (name.endsWith('.jsonl') || name.endsWith('.log')) return readAccessLogInput(file, input, onProgress);
  return readCsvInput(file, input, csv, onProgress);
}

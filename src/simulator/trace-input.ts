/**
 * Opens a trace file as a stream of its bytes, decompressing it when its first bytes say it is
 * compressed: Zstandard (libCacheSim's public traces ship as `*.oracleGeneral.zst`, which its
 * reader opens through libzstd), gzip (rotated access logs) or xz. The magic numbers decide,
 * not the name: Zstandard frames start 28 B5 2F FD (RFC 8878 §3.1.1), gzip members 1F 8B
 * (RFC 1952 §2.3.1), xz streams FD 37 7A 58 5A 00 (the .xz File Format 1.2.1, §2.1.1.1).
 * gzip is Node's zlib; Zstandard and xz are Debian's `zstd` and `xz` programs (Node 20's zlib
 * has no Zstandard), fed the file on stdin. A file is never read whole into memory.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export type TraceCompression = 'zstd' | 'gzip' | 'xz';

export interface TraceInput {
  /** The trace's bytes, decompressed; errors (a truncated or corrupt file) arrive as stream errors. */
  readonly stream: Readable;
  readonly compression: TraceCompression | undefined;
  /** The file's name without a compression suffix (`.zst`, `.zstd`, `.gz`, `.xz`): it names the format. */
  readonly innerName: string;
  /** Size of the file on disk, bytes. */
  readonly fileBytes: number;
  /** Bytes of the file read so far (for progress; compressed bytes when compressed). */
  bytesRead(): number;
}

/**
 * Largest window a Zstandard frame may ask for: `zstd --long=31` traces need 2 GiB (zstd's
 * default limit is 128 MiB, `--memory` raises it).
 */
const ZSTD_MEMORY_LIMIT = '--memory=2048MB';

const COMPRESSION_SUFFIX = /\.(zst|zstd|gz|xz)$/i;

function startsWith(head: Buffer, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
}

/** The compression a file's first bytes show; an Error for formats we cannot open. */
function compressionOf(head: Buffer, name: string): TraceCompression | undefined {
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  // bzip2: "BZh", a block size digit, then the first block's magic (the digits of pi, 0x314159265359).
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'BZh' && head[3]! >= 0x31 && head[3]! <= 0x39 && startsWith(head.subarray(4), [0x31, 0x41, 0x59, 0x26, 0x53, 0x59])) {
    throw new Error(`${name} is bzip2-compressed, which the trace readers do not open; decompress it first (bunzip2 -k ${name}) or recompress it with zstd`);
  }
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) throw new Error(`${name} is a ZIP archive; unzip it and give the trace inside`);
  return undefined;
}

/**
 * Runs `program` (zstd or xz) with the file on stdin; its stdout is the returned stream, which
 * ends only when the program exits 0 and errors with its message otherwise.
 */
function decompressWith(program: 'zstd' | 'xz', args: string[], input: Readable, name: string): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    input.destroy();
    out.destroy(err);
  };
  child.on('error', (err: NodeJS.ErrnoException) => {
    fail(err.code === 'ENOENT' ? new Error(`${name} is ${program === 'zstd' ? 'Zstandard' : 'xz'}-compressed and the ${program} program is not installed (Debian package ${program === 'zstd' ? 'zstd' : 'xz-utils'}; scripts/setup.sh installs it)`) : err);
  });
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  // The program stops reading when the file is corrupt: that EPIPE is reported by its exit code.
  child.stdin.on('error', () => {});
  input.on('error', (err) => fail(new Error(`cannot read ${name}: ${err.message}`)));
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on('close', (code, signal) => {
    if (failed) return;
    if (code === 0) {
      // stdout may still hold buffered bytes: end after it has delivered them all.
      if (child.stdout.readableEnded) out.end();
      else child.stdout.once('end', () => out.end());
      return;
    }
    const said = stderr.trim().split('\n').filter(Boolean).at(-1)?.replace(/^(zstd|xz):\s*/i, '').replace(/^\S*stdin\S*\s*:\s*/i, '') ?? '';
    fail(new Error(`${name} does not decompress (${program} ${signal ? `killed by ${signal}` : `exit ${code}`}${said ? `: ${said}` : ''})`));
  });
  // A reader that stops early (a malformed row) must not leave the program running or the file open.
  out.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    input.destroy();
  });
  return out;
}

/**
 * Opens `file` for a trace reader.
 * @throws Error when the file cannot be opened, or is bzip2 or ZIP (named, with what to do).
 */
export async function openTraceInput(file: string): Promise<TraceInput> {
  const name = path.basename(file);
  const handle = await fs.open(file, 'r');
  let head: Buffer;
  let fileBytes: number;
  try {
    fileBytes = (await handle.stat()).size;
    head = Buffer.alloc(10);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const compression = compressionOf(head, name);
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  let read = 0;
  raw.on('data', (chunk) => {
    read += chunk.length;
  });
  let stream: Readable = raw;
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    gunzip.on('close', () => raw.destroy());
    stream = raw.pipe(gunzip);
  } else if (compression === 'zstd') {
    stream = decompressWith('zstd', ['-d', '-c', '-q', ZSTD_MEMORY_LIMIT], raw, name);
  } else if (compression === 'xz') {
    stream = decompressWith('xz', ['-d', '-c', '-q'], raw, name);
  }
  return { stream, compression, innerName: compression ? name.replace(COMPRESSION_SUFFIX, '') : name, fileBytes, bytesRead: () => read };
}

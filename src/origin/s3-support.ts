/**
 * S3 addressing and integrity helpers shared by the S3 store and its callers: `s3://` URLs,
 * the SDK settings self-hosted servers need, and the ETag S3 computes for an upload.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { splitKey } from '../title/object-key.js';

/** Multipart part size, bytes (S3's minimum is 5 MiB). */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

/**
 * Parses `s3://bucket/prefix` (the prefix may be empty).
 * @throws RangeError for anything else.
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new RangeError(`not an s3://bucket/prefix URL: ${url}`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix) splitKey(prefix);
  return { bucket: m[1]!, prefix };
}

/**
 * SDK settings for an S3-compatible server: path-style addressing, and checksums only when an
 * operation requires them (with the SDK's default, newer checksums, RADOS Gateway answers 411
 * to streamed uploads; ../shared/recipes/README.md).
 */
export function s3ClientConfig(options: { endpoint?: string | undefined; region?: string | undefined; credentials?: { accessKeyId: string; secretAccessKey: string } | undefined }): S3ClientConfig {
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    region: options.region ?? 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}

/** The ETag S3 gives a file uploaded in parts of `partBytes` (one part: its MD5), quoted. */
export async function expectedEtag(file: string, partBytes = MULTIPART_PART_BYTES): Promise<string> {
  const { size } = await fs.stat(file);
  if (size <= partBytes) {
    const h = createHash('md5');
    await pipeline(createReadStream(file), h);
    return `"${h.digest('hex')}"`;
  }
  const parts: Buffer[] = [];
  for (let start = 0; start < size; start += partBytes) {
    const h = createHash('md5');
    await pipeline(createReadStream(file, { start, end: Math.min(size, start + partBytes) - 1 }), h);
    parts.push(h.digest());
  }
  return `"${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}"`;
}

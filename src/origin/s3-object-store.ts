/**
 * The object store on an S3-compatible bucket (AWS SDK v3), for deployments whose workers and
 * origins do not share a disk: `VOD_STORE_URL=s3://bucket/prefix`, endpoint, region and
 * credentials from the standard AWS variables, path-style addressing for self-hosted servers
 * (Ceph RADOS Gateway, MinIO). Tested against a real RADOS Gateway (test/helpers/rados-gateway.ts).
 *
 * - Keys map to `<prefix>/<key>`; the same key grammar as every store (title/object-key.ts).
 * - Masters go up with @aws-sdk/lib-storage's multipart upload, and the upload is checked: the
 *   ETag the server answers must be the one computed locally (MD5 for one part; for several,
 *   MD5 of the parts' MD5s plus `-N`, the multipart ETag every S3 server computes).
 * - Publishing: a staging area is a local folder. `commit()` uploads every file but the ones
 *   named in `commitLast`, then those in that order, the last one with `If-None-Match: *`, so
 *   of two concurrent commits only one wins; readers that go through the title record
 *   (`title.json`, written last) never see a half-written title, and the loser's or a dead
 *   attempt's objects are deleted (`discardStaging`).
 * - Ranges and conditional GETs are answered by the origin from `stat` and ranged GETs.
 *
 * Limits: objects a losing or dead attempt uploaded before its marker sit under the title's
 * prefix until `discardStaging` runs (on the job's retry); a reader that fetches a segment URL
 * it was never given could see them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { splitKey } from '../title/object-key.js';
import type { ObjectStat, ObjectStore, StageOptions, StagingArea } from './object-store.js';

/** Multipart part size, bytes (S3's minimum is 5 MiB). */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;
/** Objects deleted per DeleteObjects request (S3's maximum is 1000). */
const DELETE_BATCH = 1000;

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket ('' for none). */
  readonly prefix?: string;
  /** SDK client settings: endpoint, region, credentials, forcePathStyle. */
  readonly client: S3ClientConfig;
  /** Local folder for staging areas. Default `<os tmpdir>/vod-s3-staging`. */
  readonly workDir?: string;
  /**
   * Local folder of downloaded objects kept for the next `withLocalFile` of the same object (a
   * worker encoding many chunks of one master downloads it once). Default `<os tmpdir>/vod-s3-cache`.
   */
  readonly cacheDir?: string;
  /** Bytes the cache may hold; the least recently used files go first. Default DEFAULT_LOCAL_CACHE_BYTES. */
  readonly cacheBytes?: number;
}

/** Default size of the local cache of downloaded objects: 16 GiB (a few feature-length mezzanines; config VOD_S3_CACHE_BYTES). */
export const DEFAULT_LOCAL_CACHE_BYTES = 16 * 1024 ** 3;

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

const notFound = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey');

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

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly workDir: string;
  private readonly cacheDir: string;
  private readonly cacheBytes: number;
  /** Cached files in use by a running `withLocalFile` (never evicted while in use). */
  private readonly inUse = new Map<string, number>();
  readonly description: string;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.client = new S3Client(options.client);
    this.workDir = options.workDir ?? path.join(os.tmpdir(), 'vod-s3-staging');
    this.cacheDir = options.cacheDir ?? path.join(os.tmpdir(), 'vod-s3-cache');
    this.cacheBytes = options.cacheBytes ?? DEFAULT_LOCAL_CACHE_BYTES;
    const endpoint = typeof options.client.endpoint === 'string' ? ` at ${options.client.endpoint}` : '';
    this.description = `s3://${this.bucket}/${this.prefix}${endpoint}`;
  }

  /** The bucket key of a store key. @throws RangeError for an invalid key. */
  private s3Key(key: string): string {
    splitKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
      return { sizeBytes: r.ContentLength ?? 0, mtimeMs: r.LastModified?.getTime() ?? 0, etag: r.ETag ?? `"${r.ContentLength}"` };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  createReadStream(key: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough();
    const abort = new AbortController();
    out.once('close', () => abort.abort());
    this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }), { abortSignal: abort.signal })
      .then((r) => pipeline(r.Body as Readable, out))
      .catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Uploads a local file (multipart above MULTIPART_PART_BYTES) and checks the server's ETag.
   * @throws Error when the ETag differs (the object is deleted again).
   */
  async putFile(key: string, sourcePath: string, options: { ifNoneMatch?: boolean } = {}): Promise<void> {
    const s3Key = this.s3Key(key);
    const expected = await expectedEtag(sourcePath);
    const { size } = await fs.stat(sourcePath);
    let etag: string | undefined;
    if (options.ifNoneMatch || size <= MULTIPART_PART_BYTES) {
      const r = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: s3Key, Body: await fs.readFile(sourcePath), ...(options.ifNoneMatch ? { IfNoneMatch: '*' } : {}) }),
      );
      etag = r.ETag;
    } else {
      const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: s3Key, Body: createReadStream(sourcePath) }, partSize: MULTIPART_PART_BYTES, queueSize: 2, leavePartsOnError: false });
      // RADOS Gateway's CompleteMultipartUpload answer carries an ETag the SDK reads as '':
      // ask the object itself.
      etag = (await upload.done()).ETag || (await this.stat(key))?.etag;
    }
    if (etag !== expected) {
      await this.deleteKeys([s3Key]);
      throw new Error(`upload of ${key} arrived damaged: the server's ETag ${etag} is not ${expected}`);
    }
  }

  /** Every bucket key under a store prefix (`prefix/…`). */
  private async keysUnder(prefix: string): Promise<string[]> {
    const base = `${this.s3Key(prefix)}/`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async list(prefix: string): Promise<string[]> {
    const base = prefix === '' ? (this.prefix ? `${this.prefix}/` : '') : `${this.s3Key(prefix)}/`;
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(base.length).replace(/\/$/, ''));
      for (const o of r.Contents ?? []) if (o.Key) names.add(o.Key.slice(base.length));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return [...names].filter((n) => n !== '' && !n.startsWith('.')).sort();
  }

  async exists(key: string): Promise<boolean> {
    if (await this.stat(key)) return true;
    const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.s3Key(key)}/`, MaxKeys: 1 }));
    return (r.KeyCount ?? 0) > 0;
  }

  async stage(prefix: string, options: StageOptions = {}): Promise<StagingArea> {
    splitKey(prefix);
    const dir = path.join(this.workDir, `${prefix.replaceAll('/', '_')}.${os.hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await fs.mkdir(dir, { recursive: true });
    const last = options.commitLast ?? [];
    let done = false;
    return {
      dir,
      commit: async () => {
        const marker = last.at(-1);
        if (marker && (await this.stat(`${prefix}/${marker}`))) {
          await fs.rm(dir, { recursive: true, force: true });
          done = true;
          return false;
        }
        const files = (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
        const first = files.filter((f) => !last.includes(f) && !f.split('/').some((n) => n.startsWith('.')));
        const ordered = last.filter((f) => files.includes(f));
        try {
          for (let i = 0; i < first.length; i += 4) {
            await Promise.all(first.slice(i, i + 4).map((f) => this.putFile(`${prefix}/${f}`, path.join(dir, f))));
          }
          for (const [i, f] of ordered.entries()) {
            await this.putFile(`${prefix}/${f}`, path.join(dir, f), { ifNoneMatch: i === ordered.length - 1 });
          }
        } catch (err) {
          if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412) {
            // Another commit published this prefix first: ours is discarded, theirs stands.
            await fs.rm(dir, { recursive: true, force: true });
            done = true;
            return false;
          }
          throw err;
        }
        await fs.rm(dir, { recursive: true, force: true });
        done = true;
        return true;
      },
      abort: async () => {
        if (!done) await fs.rm(dir, { recursive: true, force: true });
        done = true;
      },
    };
  }

  async discardStaging(prefix: string, options: StageOptions = {}): Promise<number> {
    splitKey(prefix);
    let removed = 0;
    const start = `${prefix.replaceAll('/', '_')}.`;
    for (const name of await fs.readdir(this.workDir).catch(() => [] as string[])) {
      if (!name.startsWith(start)) continue;
      await fs.rm(path.join(this.workDir, name), { recursive: true, force: true });
      removed++;
    }
    // Objects a dead attempt uploaded before its marker: unpublished, so nobody reads them.
    const marker = options.commitLast?.at(-1);
    if (marker && !(await this.stat(`${prefix}/${marker}`))) {
      const keys = await this.keysUnder(prefix);
      if (keys.length > 0) {
        await this.deleteKeys(keys);
        removed++;
      }
    }
    return removed;
  }

  async sweepStaging(maxAgeMs: number, nowMs = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await fs.readdir(this.workDir).catch(() => [] as string[])) {
      const p = path.join(this.workDir, name);
      const st = await fs.stat(p).catch(() => undefined);
      if (st && nowMs - st.mtimeMs > maxAgeMs) {
        await fs.rm(p, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  /** @throws Error with code ENOENT when the object does not exist. */
  /**
   * Runs `fn` with a local copy of the object from the local cache: downloaded once per object
   * version (the cache file is named by the key and the object's ETag, so a replaced object is
   * downloaded again), kept for the next call, the least recently used files evicted past
   * `cacheBytes` (never one in use).
   * @throws Error with code ENOENT when the object does not exist.
   */
  async withLocalFile<T>(key: string, fn: (localPath: string) => Promise<T>): Promise<T> {
    const st = await this.stat(key);
    if (!st) throw Object.assign(new Error(`${key} does not exist in s3://${this.bucket}/${this.prefix}`), { code: 'ENOENT' });
    await fs.mkdir(this.cacheDir, { recursive: true });
    const name = `${createHash('sha256').update(`${this.bucket}/${this.s3Key(key)}\n${st.etag}`).digest('hex').slice(0, 32)}.${path.basename(key).replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const cached = path.join(this.cacheDir, name);
    this.inUse.set(cached, (this.inUse.get(cached) ?? 0) + 1);
    try {
      const hit = await fs.stat(cached).then((f) => f.size === st.sizeBytes, () => false);
      if (hit) {
        const now = new Date();
        await fs.utimes(cached, now, now).catch(() => {}); // recency for eviction
      } else {
        await this.download(key, cached);
        await this.evictCache();
      }
      return await fn(cached);
    } finally {
      const n = (this.inUse.get(cached) ?? 1) - 1;
      if (n > 0) this.inUse.set(cached, n);
      else this.inUse.delete(cached);
    }
  }

  /** Downloads an object into `dest` through a temporary file renamed into place (atomic). */
  private async download(key: string, dest: string): Promise<void> {
    const tmp = `${dest}.part.${randomBytes(6).toString('hex')}`;
    try {
      let body: Readable;
      try {
        body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }))).Body as Readable;
      } catch (err) {
        if (notFound(err)) throw Object.assign(new Error(`${key} does not exist in s3://${this.bucket}/${this.prefix}`), { code: 'ENOENT' });
        throw err;
      }
      await pipeline(body, (await fs.open(tmp, 'w')).createWriteStream());
      await fs.rename(tmp, dest);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Evicts the least recently used cache files (not in use) until the cache fits `cacheBytes`. */
  private async evictCache(): Promise<void> {
    const files = [];
    for (const n of await fs.readdir(this.cacheDir).catch(() => [] as string[])) {
      if (n.includes('.part.')) continue;
      const p = path.join(this.cacheDir, n);
      const f = await fs.stat(p).catch(() => undefined);
      if (f) files.push({ p, size: f.size, mtimeMs: f.mtimeMs });
    }
    let total = files.reduce((t, f) => t + f.size, 0);
    for (const f of files.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if (total <= this.cacheBytes) break;
      if (this.inUse.has(f.p)) continue;
      await fs.rm(f.p, { force: true });
      total -= f.size;
    }
  }

  async remove(prefix: string): Promise<void> {
    const keys = await this.keysUnder(prefix);
    const single = this.s3Key(prefix);
    if (await this.stat(prefix)) keys.push(single);
    await this.deleteKeys(keys);
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key })), Quiet: true } }));
    }
  }
}

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
 * - Publishing: a staging area is a local folder. Under a versioned prefix (`versionedPrefix`:
 *   a title's `vod/<id>`), `commit()` uploads every file under a version of its own,
 *   `<prefix>/.v/<version>/…`, checks that all of them arrived, then writes the pointer
 *   `<prefix>/.published` (the version's name) with `If-None-Match: *`: of two commits only
 *   one pointer is ever written, so a zombie attempt (its lock expired, another attempt took the
 *   job) can never overwrite or mix into the winner's objects; the loser deletes its version and
 *   the winner deletes every other version. Reads of `<prefix>/<name>` go through the pointer
 *   (cached: a published pointer never changes); an unpublished title reads as absent. Titles
 *   published in place by earlier versions (no pointer, a `commitLast` marker at the top) are
 *   still read. Other prefixes keep the in-place commit: every file but the `commitLast` ones,
 *   then those, the last with `If-None-Match: *`.
 * - Ranges and conditional GETs are answered by the origin from `stat` and ranged GETs.
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
import { expectedEtag, MULTIPART_PART_BYTES } from './s3-support.js';
import { LocalFileCache } from './local-file-cache.js';

export { expectedEtag, MULTIPART_PART_BYTES, parseS3Url, s3ClientConfig } from './s3-support.js';
import type { ObjectStat, ObjectStore, StageOptions, StagingArea } from './object-store.js';

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
  /**
   * The versioned prefix a store key lies under (a title's `vod/<id>`), or undefined: staging
   * areas of such a prefix publish as a version and a pointer, and its keys are read through the
   * pointer. Default none (every prefix published in place).
   */
  readonly versionedPrefix?: (key: string) => string | undefined;
  /** The object whose presence at the top of a versioned prefix without a pointer means "published in place" (titles published before versions: the title record). */
  readonly inPlaceMarker?: string;
}

/** Folder of a versioned prefix's versions, and its pointer to the published one. */
const VERSIONS_DIR = '.v';
const POINTER_NAME = '.published';
/** How long "not published" is remembered for a versioned prefix, ms (a published pointer is remembered for good). */
const UNPUBLISHED_TTL_MS = 1_000;
/** Marker of a title published in place (before versions): read as version ''. */
const IN_PLACE = '';

/** Default size of the local cache of downloaded objects: 16 GiB (a few feature-length mezzanines; config VOD_S3_CACHE_BYTES). */
export const DEFAULT_LOCAL_CACHE_BYTES = 16 * 1024 ** 3;

const notFound = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey');

/** A conditional write (`If-None-Match: *`) that lost: the object was already there. */
const preconditionFailed = (err: unknown): boolean => err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412;

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly workDir: string;
  private readonly cache: LocalFileCache;
  private readonly versionedPrefix: (key: string) => string | undefined;
  private readonly inPlaceMarker: string | undefined;
  /** Published version per versioned prefix (IN_PLACE for an in-place title), or undefined with its time of lookup. */
  private readonly pointers = new Map<string, { version: string | undefined; atMs: number }>();
  readonly description: string;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.client = new S3Client(options.client);
    this.workDir = options.workDir ?? path.join(os.tmpdir(), 'vod-s3-staging');
    this.cache = new LocalFileCache(options.cacheDir ?? path.join(os.tmpdir(), 'vod-s3-cache'), options.cacheBytes ?? DEFAULT_LOCAL_CACHE_BYTES);
    this.versionedPrefix = options.versionedPrefix ?? (() => undefined);
    this.inPlaceMarker = options.inPlaceMarker;
    const endpoint = typeof options.client.endpoint === 'string' ? ` at ${options.client.endpoint}` : '';
    this.description = `s3://${this.bucket}/${this.prefix}${endpoint}`;
  }

  /** The bucket key of a store key. @throws RangeError for an invalid key. */
  private s3Key(key: string): string {
    splitKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /**
   * The published version of a versioned prefix: its pointer's content, IN_PLACE for a title
   * published in place before versions, undefined when unpublished.
   */
  private async publishedVersion(prefix: string, marker?: string): Promise<string | undefined> {
    const cached = this.pointers.get(prefix);
    if (cached && (cached.version !== undefined || Date.now() - cached.atMs < UNPUBLISHED_TTL_MS)) return cached.version;
    const pointer = await this.rawGet(`${this.s3Key(prefix)}/${POINTER_NAME}`);
    let version = pointer?.toString('utf8').trim();
    if (version === undefined && marker && (await this.rawStat(this.s3Key(`${prefix}/${marker}`)))) version = IN_PLACE;
    this.pointers.set(prefix, { version, atMs: Date.now() });
    return version;
  }

  /**
   * The bucket key where a store key's bytes live: its own, or inside its prefix's published
   * version; undefined when that is unpublished.
   * @throws RangeError for an invalid store key.
   */
  private async physicalKey(key: string): Promise<string | undefined> {
    const own = this.s3Key(key);
    const prefix = this.versionedPrefix(key);
    if (!prefix || (key !== prefix && !key.startsWith(`${prefix}/`))) return own;
    const version = await this.publishedVersion(prefix, this.inPlaceMarker);
    if (version === undefined) return undefined;
    if (version === IN_PLACE) return own;
    const base = `${this.s3Key(prefix)}/${VERSIONS_DIR}/${version}`;
    return key === prefix ? base : `${base}/${key.slice(prefix.length + 1)}`;
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    const physical = await this.physicalKey(key);
    return physical === undefined ? undefined : this.rawStat(physical);
  }

  /** HEAD of a bucket key. */
  private async rawStat(bucketKey: string): Promise<ObjectStat | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
      return { sizeBytes: r.ContentLength ?? 0, mtimeMs: r.LastModified?.getTime() ?? 0, etag: r.ETag ?? `"${r.ContentLength}"` };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  createReadStream(key: string, range?: { start: number; end: number }): Readable {
    this.s3Key(key); // an invalid key throws here, not in the stream
    const out = new PassThrough();
    const abort = new AbortController();
    out.once('close', () => abort.abort());
    this.physicalKey(key)
      .then((physical) => {
        if (physical === undefined) throw Object.assign(new Error(`${key} does not exist`), { code: 'ENOENT' });
        return this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: physical, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }), { abortSignal: abort.signal });
      })
      .then((r) => pipeline(r.Body as Readable, out))
      .catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const physical = await this.physicalKey(key);
    return physical === undefined ? undefined : this.rawGet(physical);
  }

  /** GET of a bucket key; undefined when absent. */
  private async rawGet(bucketKey: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
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
    await this.putBucketFile(this.s3Key(key), sourcePath, options);
  }

  /** putFile to a bucket key (the version machinery's hidden names too). */
  private async putBucketFile(s3Key: string, sourcePath: string, options: { ifNoneMatch?: boolean } = {}): Promise<void> {
    const key = s3Key;
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
      etag = (await upload.done()).ETag || (await this.rawStat(s3Key))?.etag;
    }
    if (etag !== expected) {
      await this.deleteKeys([s3Key]);
      throw new Error(`upload of ${key} arrived damaged: the server's ETag ${etag} is not ${expected}`);
    }
  }

  /** Every bucket key under a store prefix (`prefix/…`). */
  private async keysUnder(prefix: string): Promise<string[]> {
    return this.keysUnderBucket(this.s3Key(prefix));
  }

  /** Every bucket key under a bucket prefix (`base/…`). */
  private async keysUnderBucket(bucketPrefix: string): Promise<string[]> {
    const base = `${bucketPrefix}/`;
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
    const physical = prefix === '' ? '' : await this.physicalKey(prefix);
    if (physical === undefined) return [];
    const base = physical === '' ? (this.prefix ? `${this.prefix}/` : '') : `${physical}/`;
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
    const physical = await this.physicalKey(key);
    if (physical === undefined) return false;
    if (await this.rawStat(physical)) return true;
    const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${physical}/`, MaxKeys: 1 }));
    return (r.KeyCount ?? 0) > 0;
  }

  async stage(prefix: string, options: StageOptions = {}): Promise<StagingArea> {
    splitKey(prefix);
    const dir = path.join(this.workDir, `${prefix.replaceAll('/', '_')}.${os.hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await fs.mkdir(dir, { recursive: true });
    const last = options.commitLast ?? [];
    const versioned = this.versionedPrefix(prefix) === prefix;
    let done = false;
    const finish = async (published: boolean) => {
      await fs.rm(dir, { recursive: true, force: true });
      done = true;
      return published;
    };
    return {
      dir,
      commit: async () => {
        const files = (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
        const first = files.filter((f) => !last.includes(f) && !f.split('/').some((n) => n.startsWith('.')));
        const ordered = last.filter((f) => files.includes(f));
        if (versioned) return finish(await this.commitVersion(prefix, dir, [...first, ...ordered]));
        const marker = last.at(-1);
        if (marker && (await this.rawStat(this.s3Key(`${prefix}/${marker}`)))) return finish(false);
        try {
          await this.putAll(prefix, dir, first);
          for (const [i, f] of ordered.entries()) {
            await this.putFile(`${prefix}/${f}`, path.join(dir, f), { ifNoneMatch: i === ordered.length - 1 });
          }
        } catch (err) {
          // Another commit published this prefix first: ours is discarded, theirs stands.
          if (preconditionFailed(err)) return finish(false);
          throw err;
        }
        return finish(true);
      },
      abort: async () => {
        if (!done) await fs.rm(dir, { recursive: true, force: true });
        done = true;
      },
    };
  }

  /** Uploads files of a local folder under a store prefix, four at a time. */
  private async putAll(prefix: string, dir: string, files: readonly string[]): Promise<void> {
    for (let i = 0; i < files.length; i += 4) {
      await Promise.all(files.slice(i, i + 4).map((f) => this.putFile(`${prefix}/${f}`, path.join(dir, f))));
    }
  }

  /**
   * Publishes a staging folder as a new version of a versioned prefix (see the module comment).
   * @returns false when another commit's pointer was there first (our version is deleted).
   * @throws Error when an uploaded object is missing before the pointer is written (a concurrent
   *         sweep removed it; nothing was published) or the upload fails.
   */
  private async commitVersion(prefix: string, dir: string, files: readonly string[]): Promise<boolean> {
    if ((await this.publishedVersion(prefix, this.inPlaceMarker)) !== undefined) return false;
    const version = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const versionBase = `${this.s3Key(prefix)}/${VERSIONS_DIR}/${version}`;
    for (let i = 0; i < files.length; i += 4) {
      await Promise.all(files.slice(i, i + 4).map((f) => this.putBucketFile(`${versionBase}/${f}`, path.join(dir, f))));
    }
    const arrived = new Set((await this.keysUnderBucket(versionBase)).map((k) => k.slice(versionBase.length + 1)));
    const missing = files.filter((f) => !arrived.has(f));
    if (missing.length > 0) {
      await this.deleteKeys(await this.keysUnderBucket(versionBase));
      throw new Error(`publishing ${prefix}: ${missing.length} uploaded object(s) vanished before the pointer was written (first: ${missing[0]}); nothing was published`);
    }
    const pointerFile = path.join(dir, '.pointer');
    await fs.writeFile(pointerFile, version);
    try {
      await this.putBucketFile(`${this.s3Key(prefix)}/${POINTER_NAME}`, pointerFile, { ifNoneMatch: true });
    } catch (err) {
      if (!preconditionFailed(err)) throw err;
      await this.deleteKeys(await this.keysUnderBucket(versionBase));
      return false;
    }
    this.pointers.set(prefix, { version, atMs: Date.now() });
    // Every other version (a loser still uploading, a dead attempt's) can never be published now.
    const others = (await this.keysUnderBucket(`${this.s3Key(prefix)}/${VERSIONS_DIR}`)).filter((k) => !k.startsWith(`${versionBase}/`));
    await this.deleteKeys(others);
    return true;
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
    // Objects a dead attempt uploaded before its marker (or its pointer): unpublished, so nobody reads them.
    const marker = options.commitLast?.at(-1);
    if (this.versionedPrefix(prefix) === prefix) {
      this.pointers.delete(prefix);
      if ((await this.publishedVersion(prefix, marker)) === undefined) {
        const keys = await this.keysUnder(prefix);
        if (keys.length > 0) {
          await this.deleteKeys(keys);
          removed++;
        }
      }
      return removed;
    }
    if (marker && !(await this.rawStat(this.s3Key(`${prefix}/${marker}`)))) {
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

  /**
   * Runs `fn` with a local copy of the object from the local cache (LocalFileCache): downloaded
   * once per object version (the cache file is named by the key and the object's ETag, so a
   * replaced object is downloaded again) and kept for the next call.
   * @throws Error with code ENOENT when the object does not exist.
   */
  async withLocalFile<T>(key: string, fn: (localPath: string) => Promise<T>): Promise<T> {
    const physical = (await this.physicalKey(key)) ?? this.s3Key(key);
    const st = await this.rawStat(physical);
    const missing = () => Object.assign(new Error(`${key} does not exist in s3://${this.bucket}/${this.prefix}`), { code: 'ENOENT' });
    if (!st) throw missing();
    const name = `${createHash('sha256').update(`${this.bucket}/${this.s3Key(key)}\n${st.etag}`).digest('hex').slice(0, 32)}.${path.basename(key).replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const fill = async (dest: string) => {
      let body: Readable;
      try {
        body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: physical }))).Body as Readable;
      } catch (err) {
        if (notFound(err)) throw missing();
        throw err;
      }
      await pipeline(body, (await fs.open(dest, 'w')).createWriteStream());
    };
    return this.cache.use(name, st.sizeBytes, fill, fn);
  }

  async remove(prefix: string): Promise<void> {
    const keys = await this.keysUnder(prefix);
    const single = this.s3Key(prefix);
    if (await this.rawStat(single)) keys.push(single);
    await this.deleteKeys(keys);
    for (const p of this.pointers.keys()) if (p === prefix || p.startsWith(`${prefix}/`)) this.pointers.delete(p);
    const owner = this.versionedPrefix(prefix);
    if (owner) this.pointers.delete(owner);
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key })), Quiet: true } }));
    }
  }
}

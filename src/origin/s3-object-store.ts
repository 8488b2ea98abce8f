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
 *   a title's `vod/<id>`), `commit()` publishes it as a version and a pointer written with
 *   `If-None-Match: *` (s3-versions.ts), so two attempts of one job can never mix; reads go
 *   through the pointer and an unpublished title reads as absent. Titles published in place by
 *   earlier versions (no pointer, a `commitLast` marker at the top) are still read. Other
 *   prefixes keep the in-place commit: every file but the `commitLast` ones, then those, the
 *   last with `If-None-Match: *`.
 * - Bucket operations (HEAD, GET, checked uploads, listing, batch delete) live in s3-bucket.ts.
 * - Ranges and conditional GETs are answered by the origin from `stat` and ranged GETs.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { splitKey } from '../title/object-key.js';
import { LocalFileCache } from './local-file-cache.js';
import { notFound, preconditionFailed, S3Bucket } from './s3-bucket.js';
import { S3Versions } from './s3-versions.js';
import type { ObjectStat, ObjectStore, StageOptions, StagingArea } from './object-store.js';

export { expectedEtag, MULTIPART_PART_BYTES, parseS3Url, s3ClientConfig } from './s3-support.js';

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

/** Default size of the local cache of downloaded objects: 16 GiB (a few feature-length mezzanines; config VOD_S3_CACHE_BYTES). */
export const DEFAULT_LOCAL_CACHE_BYTES = 16 * 1024 ** 3;

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly objects: S3Bucket;
  private readonly versions: S3Versions;
  private readonly workDir: string;
  private readonly cache: LocalFileCache;
  private readonly versionedPrefix: (key: string) => string | undefined;
  private readonly inPlaceMarker: string | undefined;
  readonly description: string;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.objects = new S3Bucket(this.bucket, options.client);
    this.client = this.objects.client;
    this.versions = new S3Versions(this.objects);
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

  /** The published version of a versioned store prefix (S3Versions.published), by `marker` name. */
  private publishedVersion(prefix: string, marker?: string): Promise<string | undefined> {
    return this.versions.published(this.s3Key(prefix), marker ? this.s3Key(`${prefix}/${marker}`) : undefined);
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
    return S3Versions.keyIn(this.s3Key(prefix), version, key === prefix ? '' : key.slice(prefix.length + 1));
  }

  /**
   * Reads a key through its prefix's published version; when that finds nothing under a version
   * this process remembered, the pointer is read again once and, if it changed, the key read
   * there: another process may have removed the title (`vod remove`) and published it again,
   * and a remembered pointer must not hide the new version for good. Costs one pointer GET per
   * miss inside a published title, none on a hit.
   */
  private async throughPointer<T>(key: string, read: (physical: string) => Promise<T | undefined>): Promise<T | undefined> {
    const physical = await this.physicalKey(key);
    if (physical === undefined) return undefined;
    const found = await read(physical);
    const prefix = this.versionedPrefix(key);
    if (found !== undefined || prefix === undefined || physical === this.s3Key(key)) return found;
    this.versions.forget(this.s3Key(prefix));
    const again = await this.physicalKey(key);
    return again === undefined || again === physical ? undefined : read(again);
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    return this.throughPointer(key, (physical) => this.objects.stat(physical));
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
    return this.throughPointer(key, (physical) => this.objects.get(physical));
  }

  /**
   * Uploads a local file (multipart above MULTIPART_PART_BYTES) and checks the server's ETag.
   * @throws Error when the ETag differs (the object is deleted again); S3ServiceException 412 when
   *         `ifNoneMatch` and the object exists.
   */
  async putFile(key: string, sourcePath: string, options: { ifNoneMatch?: boolean } = {}): Promise<void> {
    await this.objects.putFile(this.s3Key(key), sourcePath, options);
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
    if (await this.objects.stat(physical)) return true;
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
        for (const f of [...first, ...ordered]) splitKey(`${prefix}/${f}`); // a staged name outside the key grammar fails before any upload
        if (versioned) {
          const marker = this.inPlaceMarker ? this.s3Key(`${prefix}/${this.inPlaceMarker}`) : undefined;
          return finish(await this.versions.commit(this.s3Key(prefix), dir, [...first, ...ordered], marker));
        }
        const marker = last.at(-1);
        if (marker && (await this.objects.stat(this.s3Key(`${prefix}/${marker}`)))) return finish(false);
        try {
          await this.objects.putAll(this.s3Key(prefix), dir, first);
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
    let unpublished: boolean;
    if (this.versionedPrefix(prefix) === prefix) {
      this.versions.forget(this.s3Key(prefix));
      unpublished = (await this.publishedVersion(prefix, marker)) === undefined;
    } else {
      unpublished = marker !== undefined && !(await this.objects.stat(this.s3Key(`${prefix}/${marker}`)));
    }
    if (unpublished) {
      const keys = await this.objects.keysUnder(this.s3Key(prefix));
      if (keys.length > 0) {
        await this.objects.delete(keys);
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
    const st = await this.objects.stat(physical);
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

  /**
   * Removes everything under a prefix. A versioned prefix (a published title) loses its pointer
   * first, so a reader that looks it up from then on finds the title absent at once; then the
   * objects go in batches (a process that had the pointer cached sees them go one batch at a
   * time, and reads the pointer again on its first miss).
   */
  async remove(prefix: string): Promise<void> {
    const single = this.s3Key(prefix);
    if (this.versionedPrefix(prefix) === prefix) await this.versions.unpublish(single);
    const keys = await this.objects.keysUnder(single);
    if (await this.objects.stat(single)) keys.push(single);
    await this.objects.delete(keys);
    this.versions.forget(single);
  }
}

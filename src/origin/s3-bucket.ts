/**
 * Plain operations on one S3 bucket by bucket key (AWS SDK v3): what the S3 object store
 * (s3-object-store.ts) and its versioned publishing (s3-versions.ts) are built from. No key
 * grammar or prefix here: callers pass full bucket keys.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
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
import { expectedEtag, MULTIPART_PART_BYTES } from './s3-support.js';
import type { ObjectStat } from './object-store.js';

/** Objects deleted per DeleteObjects request (S3's maximum is 1000; S3 API reference, DeleteObjects). */
const DELETE_BATCH = 1000;

/** True for an S3 "no such key" answer (404 / NotFound / NoSuchKey). */
export const notFound = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey');

/** A conditional write (`If-None-Match: *`) that lost: the object was already there (HTTP 412). */
export const preconditionFailed = (err: unknown): boolean => err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412;

export class S3Bucket {
  readonly client: S3Client;

  constructor(
    readonly bucket: string,
    config: S3ClientConfig,
  ) {
    this.client = new S3Client(config);
  }

  /** HEAD of a bucket key: size, mtime, ETag; undefined when absent. */
  async stat(bucketKey: string): Promise<ObjectStat | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
      return { sizeBytes: r.ContentLength ?? 0, mtimeMs: r.LastModified?.getTime() ?? 0, etag: r.ETag ?? `"${r.ContentLength}"` };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /** GET of a bucket key as bytes; undefined when absent. */
  async get(bucketKey: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Uploads a local file to a bucket key (multipart above MULTIPART_PART_BYTES, one PUT with
   * `If-None-Match: *` when `ifNoneMatch`) and checks the server's ETag against the one computed
   * locally (expectedEtag).
   * @throws S3ServiceException 412 (see preconditionFailed) when `ifNoneMatch` and the key exists;
   *         Error when the ETag differs (the object is deleted again).
   */
  async putFile(bucketKey: string, sourcePath: string, options: { ifNoneMatch?: boolean } = {}): Promise<void> {
    const expected = await expectedEtag(sourcePath);
    const { size } = await fs.stat(sourcePath);
    let etag: string | undefined;
    if (options.ifNoneMatch || size <= MULTIPART_PART_BYTES) {
      const r = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: bucketKey, Body: await fs.readFile(sourcePath), ...(options.ifNoneMatch ? { IfNoneMatch: '*' } : {}) }),
      );
      etag = r.ETag;
    } else {
      const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: bucketKey, Body: createReadStream(sourcePath) }, partSize: MULTIPART_PART_BYTES, queueSize: 2, leavePartsOnError: false });
      // RADOS Gateway's CompleteMultipartUpload answer carries an ETag the SDK reads as '':
      // ask the object itself.
      etag = (await upload.done()).ETag || (await this.stat(bucketKey))?.etag;
    }
    if (etag !== expected) {
      await this.delete([bucketKey]);
      throw new Error(`upload of ${bucketKey} arrived damaged: the server's ETag ${etag} is not ${expected}`);
    }
  }

  /** Uploads files of a local folder (relative names) under a bucket prefix, four at a time. */
  async putAll(bucketPrefix: string, dir: string, files: readonly string[]): Promise<void> {
    for (let i = 0; i < files.length; i += 4) {
      await Promise.all(files.slice(i, i + 4).map((f) => this.putFile(`${bucketPrefix}/${f}`, `${dir}/${f}`)));
    }
  }

  /** Every bucket key under a bucket prefix (`base/…`), all pages. */
  async keysUnder(bucketPrefix: string): Promise<string[]> {
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

  /** Deletes bucket keys, DELETE_BATCH per request. */
  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key })), Quiet: true } }));
    }
  }
}

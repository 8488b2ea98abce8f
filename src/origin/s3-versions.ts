/**
 * Versioned publishing on an S3 bucket: how a title's folder (`vod/<id>`) becomes visible all
 * at once on a store without renames, and how two attempts of one job can never mix.
 *
 * `commit()` uploads every file of a staging folder under a version of its own,
 * `<prefix>/.v/<version>/…`, checks that all of them arrived, then writes the pointer
 * `<prefix>/.published` (the version's name) with `If-None-Match: *`: of two commits only one
 * pointer is ever written, so a zombie attempt (its lock expired, another attempt took the job)
 * can never overwrite or mix into the winner's objects; the loser deletes its version and the
 * winner deletes every other version. Readers resolve `<prefix>/<name>` through the pointer
 * (cached once published: a pointer is only ever deleted — `unpublish`, when a title is removed
 * — and the store reads it again when a key under a cached version is missing); an unpublished
 * prefix reads as absent. A prefix published in place by earlier versions (no pointer, a marker object at the
 * top) reads as IN_PLACE.
 *
 * All keys here are bucket keys (the store's own prefix already applied).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { preconditionFailed, type S3Bucket } from './s3-bucket.js';

/** Folder of a versioned prefix's versions, and its pointer to the published one. */
const VERSIONS_DIR = '.v';
const POINTER_NAME = '.published';
/** How long "not published" is remembered for a versioned prefix, ms (a published pointer is remembered for good). */
const UNPUBLISHED_TTL_MS = 1_000;
/** The published "version" of a prefix published in place (before versions): its own keys. */
export const IN_PLACE = '';

export class S3Versions {
  /** Published version per bucket prefix (IN_PLACE for in place), or undefined with its time of lookup. */
  private readonly pointers = new Map<string, { version: string | undefined; atMs: number }>();

  constructor(private readonly bucket: S3Bucket) {}

  /**
   * The published version of a versioned bucket prefix: its pointer's content, IN_PLACE when
   * `markerKey` (a bucket key) exists without a pointer, undefined when unpublished.
   */
  async published(prefix: string, markerKey?: string): Promise<string | undefined> {
    const cached = this.pointers.get(prefix);
    if (cached && (cached.version !== undefined || Date.now() - cached.atMs < UNPUBLISHED_TTL_MS)) return cached.version;
    const pointer = await this.bucket.get(`${prefix}/${POINTER_NAME}`);
    let version = pointer?.toString('utf8').trim();
    if (version === undefined && markerKey && (await this.bucket.stat(markerKey))) version = IN_PLACE;
    this.pointers.set(prefix, { version, atMs: Date.now() });
    return version;
  }

  /** The bucket key of `rest` ('' for the prefix itself) inside a published version of `prefix`. */
  static keyIn(prefix: string, version: string, rest: string): string {
    if (version === IN_PLACE) return rest ? `${prefix}/${rest}` : prefix;
    const base = `${prefix}/${VERSIONS_DIR}/${version}`;
    return rest ? `${base}/${rest}` : base;
  }

  /**
   * Unpublishes a versioned bucket prefix: deletes its pointer (its versions stay for the caller
   * to delete), so every reader finds it absent at once.
   */
  async unpublish(prefix: string): Promise<void> {
    await this.bucket.delete([`${prefix}/${POINTER_NAME}`]);
    this.forget(prefix);
  }

  /** Forgets what is cached about prefixes equal to or under `prefix` (after a purge). */
  forget(prefix: string): void {
    for (const p of this.pointers.keys()) if (p === prefix || p.startsWith(`${prefix}/`) || prefix.startsWith(`${p}/`)) this.pointers.delete(p);
  }

  /**
   * Publishes a local staging folder as a new version of a versioned bucket prefix.
   * @param files relative names of the files to publish, in upload order.
   * @param markerKey bucket key whose presence means "published in place" (see published()).
   * @returns false when the prefix was already published or another commit's pointer was written
   *          first (our version is deleted).
   * @throws Error when an uploaded object is missing before the pointer is written (a concurrent
   *         sweep removed it; nothing was published) or an upload fails.
   */
  async commit(prefix: string, dir: string, files: readonly string[], markerKey?: string): Promise<boolean> {
    if ((await this.published(prefix, markerKey)) !== undefined) return false;
    const version = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const versionBase = `${prefix}/${VERSIONS_DIR}/${version}`;
    await this.bucket.putAll(versionBase, dir, files);
    const arrived = new Set((await this.bucket.keysUnder(versionBase)).map((k) => k.slice(versionBase.length + 1)));
    const missing = files.filter((f) => !arrived.has(f));
    if (missing.length > 0) {
      await this.bucket.delete(await this.bucket.keysUnder(versionBase));
      throw new Error(`publishing ${prefix}: ${missing.length} uploaded object(s) vanished before the pointer was written (first: ${missing[0]}); nothing was published`);
    }
    const pointerFile = path.join(dir, '.pointer');
    await fs.writeFile(pointerFile, version);
    try {
      await this.bucket.putFile(`${prefix}/${POINTER_NAME}`, pointerFile, { ifNoneMatch: true });
    } catch (err) {
      if (!preconditionFailed(err)) throw err;
      await this.bucket.delete(await this.bucket.keysUnder(versionBase));
      return false;
    }
    this.pointers.set(prefix, { version, atMs: Date.now() });
    // Every other version (a loser still uploading, a dead attempt's) can never be published now.
    const others = (await this.bucket.keysUnder(`${prefix}/${VERSIONS_DIR}`)).filter((k) => !k.startsWith(`${versionBase}/`));
    await this.bucket.delete(others);
    return true;
  }
}

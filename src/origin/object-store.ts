/**
 * The object store interface: where masters and published titles live. The local
 * filesystem implementation (`FsObjectStore`) is the default on one machine; `S3ObjectStore`
 * (s3-object-store.ts) keeps them in an S3-compatible bucket for deployments that outgrow one disk.
 *
 * Keys are relative, '/'-separated paths of `[A-Za-z0-9._-]` names (`vod/<titleId>/master.m3u8`,
 * grammar in title/object-key.ts); no key can name anything outside the store.
 */
import type { Readable } from 'node:stream';

export interface ObjectStat {
  readonly sizeBytes: number;
  /** Last modification time, ms since the epoch. */
  readonly mtimeMs: number;
  /** Strong validator for HTTP ETag (RFC 9110 §8.8.3), stable across restarts. */
  readonly etag: string;
}

/** A folder being filled before it is published under a prefix in one atomic step. */
export interface StagingArea {
  /** Local folder to write the objects into. */
  readonly dir: string;
  /**
   * Publishes the staged folder under the prefix in one step: readers see all of it or none.
   * @returns false when the prefix was already published (the staged copy is discarded).
   */
  commit(): Promise<boolean>;
  /** Discards the staged folder. Safe to call after commit. */
  abort(): Promise<void>;
}

/** How a staging area publishes. */
export interface StageOptions {
  /**
   * Files (relative to the staging folder) to publish after every other, in this order; the
   * last is the publish marker: a prefix counts as published once it exists, and only one
   * commit can create it. Stores that publish a folder in one rename ignore the order.
   */
  readonly commitLast?: readonly string[];
}

export interface ObjectStore {
  /** Where the objects live, for people: `folder <path>` or `s3://bucket/prefix (endpoint)`. */
  readonly description: string;
  /** Size, mtime and ETag of an object, or undefined when it does not exist (or is a folder). */
  stat(key: string): Promise<ObjectStat | undefined>;
  /** Reads bytes `start..end` (inclusive, as HTTP ranges) or the whole object. */
  createReadStream(key: string, range?: { start: number; end: number }): Readable;
  /** Whole object as bytes, or undefined when missing. */
  get(key: string): Promise<Buffer | undefined>;
  /** Copies a local file to `key` atomically (written aside, then renamed into place). */
  putFile(key: string, sourcePath: string): Promise<void>;
  /** Names directly under a prefix (folders and objects), sorted; [] when missing. */
  list(prefix: string): Promise<string[]>;
  /** True when something (object or published prefix) exists at the key. */
  exists(key: string): Promise<boolean>;
  /** Starts a staging area that `commit()` publishes atomically under `prefix`. */
  stage(prefix: string, options?: StageOptions): Promise<StagingArea>;
  /**
   * Discards every staging area started for `prefix` and not committed — what a killed worker
   * left — so a retried job starts clean. Only call it while no live attempt stages that prefix.
   * @returns how many were removed.
   */
  discardStaging(prefix: string, options?: StageOptions): Promise<number>;
  /**
   * Removes staging areas older than `maxAgeMs` (left by workers killed mid-encode).
   * @returns how many were removed.
   */
  sweepStaging(maxAgeMs: number, nowMs?: number): Promise<number>;
  /**
   * Runs `fn` with a local file holding the object, for tools (ffmpeg) that read files: the
   * object's own file on a filesystem store, a download kept in a bounded local cache otherwise
   * (so a worker encoding many chunks of one master fetches it once).
   * @throws when the object does not exist.
   */
  withLocalFile<T>(key: string, fn: (localPath: string) => Promise<T>): Promise<T>;
  /** Removes everything under a prefix (operator purge). */
  remove(prefix: string): Promise<void>;
}

/**
 * The object store interface: where masters and published titles live. The local
 * filesystem implementation (`FsObjectStore`) is the default on one machine; an S3-API
 * implementation is the planned one for deployments that outgrow one disk (not built yet).
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

export interface ObjectStore {
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
  stage(prefix: string): Promise<StagingArea>;
  /**
   * Discards every staging area started for `prefix` and not committed — what a killed worker
   * left — so a retried job starts clean. Only call it while no live attempt stages that prefix.
   * @returns how many were removed.
   */
  discardStaging(prefix: string): Promise<number>;
  /** Local filesystem path of an object, for tools (ffmpeg) that read files. */
  localPath(key: string): string;
  /** Removes everything under a prefix (operator purge). */
  remove(prefix: string): Promise<void>;
}

/**
 * Object store on a local folder. Writes go to `<root>/.staging/` first and are renamed into
 * place, so a reader never sees a partly written object or a partly published title
 * (rename(2) is atomic within one filesystem).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ObjectStat, ObjectStore, StageOptions, StagingArea } from './object-store.js';
import { splitKey } from '../title/object-key.js';

const STAGING = '.staging';

export class FsObjectStore implements ObjectStore {
  get description(): string {
    return `folder ${this.root}`;
  }

  readonly root: string;

  /** @param root folder of the store; created on first write. */
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  localPath(key: string): string {
    const resolved = path.join(this.root, ...splitKey(key));
    // splitKey already forbids '..'; this is the belt to its braces.
    if (!resolved.startsWith(this.root + path.sep)) throw new RangeError(`key escapes the store: ${key}`);
    return resolved;
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const st = await fs.stat(this.localPath(key));
      if (!st.isFile()) return undefined;
      return { sizeBytes: st.size, mtimeMs: st.mtimeMs, etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  createReadStream(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.localPath(key), range ? { start: range.start, end: range.end } : {});
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.localPath(key));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async putFile(key: string, sourcePath: string): Promise<void> {
    const dest = this.localPath(key);
    const tmp = await this.tempPath(path.basename(dest));
    try {
      await fs.copyFile(sourcePath, tmp);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.rename(tmp, dest);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      const names = await fs.readdir(prefix === '' ? this.root : this.localPath(prefix));
      return names.filter((n) => !n.startsWith('.')).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.localPath(key));
      return true;
    } catch {
      return false;
    }
  }

  async withLocalFile<T>(key: string, fn: (localPath: string) => Promise<T>): Promise<T> {
    return fn(this.localPath(key));
  }

  /** Publishes by renaming the staged folder into place: `options` (commit order) do not apply. */
  async stage(prefix: string, _options?: StageOptions): Promise<StagingArea> {
    const dest = this.localPath(prefix);
    const dir = await this.tempPath(stagingHint(prefix));
    await fs.mkdir(dir, { recursive: true });
    let done = false;
    return {
      dir,
      commit: async () => {
        await fs.mkdir(path.dirname(dest), { recursive: true });
        try {
          await fs.rename(dir, dest);
          done = true;
          return true;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOTEMPTY' || code === 'EEXIST') {
            await fs.rm(dir, { recursive: true, force: true });
            done = true;
            return false;
          }
          throw err;
        }
      },
      abort: async () => {
        if (!done) await fs.rm(dir, { recursive: true, force: true });
        done = true;
      },
    };
  }

  async remove(prefix: string): Promise<void> {
    const target = this.localPath(prefix);
    // Move aside first so readers never see a half-deleted title, then delete.
    const trash = await this.tempPath(`trash-${path.basename(target)}`);
    try {
      await fs.rename(target, trash);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  async discardStaging(prefix: string): Promise<number> {
    splitKey(prefix);
    const stagingRoot = path.join(this.root, STAGING);
    const start = `${stagingHint(prefix)}.`;
    let removed = 0;
    for (const name of await fs.readdir(stagingRoot).catch(() => [] as string[])) {
      if (!name.startsWith(start)) continue;
      await fs.rm(path.join(stagingRoot, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /**
   * Removes staging folders older than `maxAgeMs` (left by a worker that was killed mid-encode).
   * @returns how many were removed.
   */
  async sweepStaging(maxAgeMs: number, nowMs = Date.now()): Promise<number> {
    const stagingRoot = path.join(this.root, STAGING);
    let removed = 0;
    for (const name of await fs.readdir(stagingRoot).catch(() => [] as string[])) {
      const p = path.join(stagingRoot, name);
      const st = await fs.stat(p).catch(() => undefined);
      if (st && nowMs - st.mtimeMs > maxAgeMs) {
        await fs.rm(p, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  private async tempPath(hint: string): Promise<string> {
    const stagingRoot = path.join(this.root, STAGING);
    await fs.mkdir(stagingRoot, { recursive: true });
    return path.join(stagingRoot, `${hint}.${os.hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`);
  }
}

/** The first part of a staging folder's name for `prefix` (`vod/abc` → `vod_abc`). */
function stagingHint(prefix: string): string {
  return prefix.replaceAll('/', '_');
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

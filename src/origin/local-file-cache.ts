/**
 * A bounded folder of downloaded files kept for the next use (the S3 store's masters: a worker
 * running many chunk jobs of one title downloads its master once). Files are filled through a
 * temporary name renamed into place (a crashed download leaves no half file under the real
 * name); past `maxBytes` the least recently used are evicted, never one in use.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export class LocalFileCache {
  /** Files in use by a running `use` (never evicted while in use), with their user counts. */
  private readonly inUse = new Map<string, number>();

  /**
   * @param dir the cache folder (created on first use).
   * @param maxBytes bytes the cache may hold.
   */
  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /**
   * Runs `fn` with the cached file `name`: used as is when it holds `sizeBytes`, else filled by
   * `fill` (which writes the whole file at the path it is given), then the cache is trimmed.
   * @throws what `fill` or `fn` throws (a failed fill leaves nothing behind).
   */
  async use<T>(name: string, sizeBytes: number, fill: (dest: string) => Promise<void>, fn: (localPath: string) => Promise<T>): Promise<T> {
    await fs.mkdir(this.dir, { recursive: true });
    const cached = path.join(this.dir, name);
    this.inUse.set(cached, (this.inUse.get(cached) ?? 0) + 1);
    try {
      const hit = await fs.stat(cached).then((f) => f.size === sizeBytes, () => false);
      if (hit) {
        const now = new Date();
        await fs.utimes(cached, now, now).catch(() => {}); // recency for eviction
      } else {
        const tmp = `${cached}.part.${randomBytes(6).toString('hex')}`;
        try {
          await fill(tmp);
          await fs.rename(tmp, cached);
        } finally {
          await fs.rm(tmp, { force: true });
        }
        await this.evict();
      }
      return await fn(cached);
    } finally {
      const n = (this.inUse.get(cached) ?? 1) - 1;
      if (n > 0) this.inUse.set(cached, n);
      else this.inUse.delete(cached);
    }
  }

  /** Evicts the least recently used files (not in use) until the cache fits `maxBytes`. */
  private async evict(): Promise<void> {
    const files = [];
    for (const n of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (n.includes('.part.')) continue;
      const p = path.join(this.dir, n);
      const f = await fs.stat(p).catch(() => undefined);
      if (f) files.push({ p, size: f.size, mtimeMs: f.mtimeMs });
    }
    let total = files.reduce((t, f) => t + f.size, 0);
    for (const f of files.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if (total <= this.maxBytes) break;
      if (this.inUse.has(f.p)) continue;
      await fs.rm(f.p, { force: true });
      total -= f.size;
    }
  }
}

/**
 * The edge's disk tier: objects that fall out of memory stay on disk, bounded in bytes (LRU
 * over the index), and survive a restart — the index is rebuilt by reading each file's
 * header at start-up (warm restart). A file is written under `tmp/` and renamed into place,
 * so a partly written object is never served; leftovers in `tmp/` are removed at start.
 *
 * File layout: 4-byte big-endian length N, N bytes of JSON metadata (key, headers, times, the
 * body's SHA-256), then the body. Files live under `<dir>/objects/<2 hex>/<sha1 of key>`. Every
 * read checks the body against its SHA-256, so a flipped byte on disk is a miss (and the file
 * is removed), never a HIT with wrong bytes. A write that fails (a full disk) removes its
 * partial file at once; the memory tier keeps caching meanwhile.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import type { CachedObject } from './memory-tier.js';

interface DiskMeta {
  readonly key: string;
  readonly contentType: string;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly cacheControl: string;
  readonly storedAtMs: number;
  readonly expiresAtMs: number;
  readonly size: number;
  /** SHA-256 of the body, hex. */
  readonly sha256: string;
}

interface IndexEntry {
  readonly file: string;
  readonly size: number;
  readonly expiresAtMs: number;
}

export class DiskTier {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly index: LRUCache<string, IndexEntry>;
  private readonly nowMs: () => number;
  /** Writes and removals in progress; awaited by idle() and close(). */
  private readonly pending = new Set<Promise<unknown>>();

  /**
   * @param dir folder of the tier (created if missing).
   * @param maxBytes capacity, body bytes.
   */
  constructor(dir: string, maxBytes: number, nowMs: () => number = Date.now) {
    if (!(maxBytes > 0)) throw new RangeError(`disk cache size must be positive, got ${maxBytes}`);
    this.dir = path.resolve(dir);
    this.maxBytes = maxBytes;
    this.nowMs = nowMs;
    this.index = new LRUCache<string, IndexEntry>({
      maxSize: maxBytes,
      sizeCalculation: (e) => Math.max(1, e.size),
      // An overwrite keeps the same file name (the new file was renamed over it).
      dispose: (entry, _key, reason) => {
        if (reason !== 'set') this.track(fs.rm(entry.file, { force: true }));
      },
    });
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => {}).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private fileFor(key: string): string {
    const h = createHash('sha1').update(key).digest('hex');
    return path.join(this.dir, 'objects', h.slice(0, 2), h);
  }

  /**
   * Rebuilds the index from the files on disk (oldest first, so LRU order follows age) and
   * removes unfinished writes. Call once before use.
   * @returns objects and bytes found.
   */
  async open(): Promise<{ objects: number; bytes: number }> {
    await fs.rm(path.join(this.dir, 'tmp'), { recursive: true, force: true });
    await fs.mkdir(path.join(this.dir, 'tmp'), { recursive: true });
    const found: { meta: DiskMeta; file: string; mtimeMs: number }[] = [];
    const objects = path.join(this.dir, 'objects');
    for (const sub of await fs.readdir(objects).catch(() => [] as string[])) {
      for (const name of await fs.readdir(path.join(objects, sub)).catch(() => [] as string[])) {
        const file = path.join(objects, sub, name);
        const meta = await readMeta(file).catch(() => undefined);
        const st = await fs.stat(file).catch(() => undefined);
        if (!meta || !st || typeof meta.sha256 !== 'string' || meta.expiresAtMs <= this.nowMs()) {
          await fs.rm(file, { force: true });
          continue;
        }
        found.push({ meta, file, mtimeMs: st.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    let bytes = 0;
    for (const f of found) {
      this.index.set(f.meta.key, { file: f.file, size: f.meta.size, expiresAtMs: f.meta.expiresAtMs });
      bytes += f.meta.size;
    }
    return { objects: this.index.size, bytes };
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** Reads an object (undefined when absent, expired or unreadable). */
  async get(key: string): Promise<(CachedObject & { expiresAtMs: number }) | undefined> {
    const entry = this.index.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.nowMs()) {
      this.index.delete(key);
      return undefined;
    }
    try {
      const buf = await fs.readFile(entry.file);
      const n = buf.readUInt32BE(0);
      const meta = JSON.parse(buf.toString('utf8', 4, 4 + n)) as DiskMeta;
      const body = buf.subarray(4 + n);
      if (meta.key !== key || body.length !== meta.size || meta.sha256 !== sha256(body)) throw new Error('corrupt disk cache entry');
      return { body, contentType: meta.contentType, etag: meta.etag, lastModified: meta.lastModified, cacheControl: meta.cacheControl, storedAtMs: meta.storedAtMs, expiresAtMs: meta.expiresAtMs };
    } catch {
      // Unreadable or corrupt: forget it and remove the file, so it is filled again.
      this.index.delete(key);
      this.track(fs.rm(entry.file, { force: true }));
      return undefined;
    }
  }

  /**
   * Writes an object (aside, then renamed into place).
   * @returns false when it is larger than the tier.
   */
  set(key: string, value: CachedObject, expiresAtMs: number): Promise<boolean> {
    const p = this.write(key, value, expiresAtMs);
    this.track(p);
    return p;
  }

  private async write(key: string, value: CachedObject, expiresAtMs: number): Promise<boolean> {
    if (value.body.length > this.maxBytes) return false;
    const meta: DiskMeta = {
      key,
      contentType: value.contentType,
      etag: value.etag,
      lastModified: value.lastModified,
      cacheControl: value.cacheControl,
      storedAtMs: value.storedAtMs,
      expiresAtMs,
      size: value.body.length,
      sha256: sha256(value.body),
    };
    const json = Buffer.from(JSON.stringify(meta));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(json.length, 0);
    const file = this.fileFor(key);
    const tmp = path.join(this.dir, 'tmp', randomBytes(8).toString('hex'));
    try {
      await fs.writeFile(tmp, Buffer.concat([head, json, value.body]));
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.rename(tmp, file);
    } catch (err) {
      // ENOSPC and friends: no partial file may stay behind until the next restart.
      await fs.rm(tmp, { force: true });
      throw err;
    }
    this.index.set(key, { file, size: value.body.length, expiresAtMs });
    return this.index.has(key);
  }

  delete(key: string): boolean {
    return this.index.delete(key);
  }

  /** Keys whose path starts with a prefix (purge by title). */
  keysWithPrefix(prefix: string): string[] {
    return [...this.index.keys()].filter((k) => k.startsWith(prefix));
  }

  size(): { bytes: number; objects: number } {
    return { bytes: this.index.calculatedSize, objects: this.index.size };
  }

  /** Waits until pending writes and removals have finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await this.idle();
  }
}

const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

async function readMeta(file: string): Promise<DiskMeta> {
  const h = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await h.read(head, 0, 4, 0);
    const n = head.readUInt32BE(0);
    if (n <= 0 || n > 1 << 20) throw new Error('bad header');
    const json = Buffer.alloc(n);
    await h.read(json, 0, n, 4);
    return JSON.parse(json.toString('utf8')) as DiskMeta;
  } finally {
    await h.close();
  }
}

/**
 * The disk tier on a real folder: a flipped byte in a stored file is a miss (and the file is
 * removed), never a HIT with wrong bytes; a write that fails leaves no partial file behind.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskTier } from '../../../src/edge-cache/disk-tier.js';
import type { CachedObject } from '../../../src/edge-cache/memory-tier.js';
import { listFiles, makeTempDir } from '../../helpers/temp-dir.js';

const object = (bytes: number): CachedObject => ({
  body: Buffer.from(Array.from({ length: bytes }, (_, i) => i % 251)),
  contentType: 'video/mp4',
  etag: '"e"',
  lastModified: undefined,
  cacheControl: 'public, max-age=60',
  storedAtMs: 0,
});

describe('DiskTier', () => {
  it('checks every read against the body checksum: a flipped byte is a miss and the file goes', async () => {
    const dir = await makeTempDir();
    const tier = new DiskTier(dir, 1 << 20, () => 1000);
    await tier.open();
    await tier.set('/vod/a/seg.m4s', object(5000), 60_000);
    expect((await tier.get('/vod/a/seg.m4s'))?.body.equals(object(5000).body)).toBe(true);
    const [file] = (await listFiles(path.join(dir, 'objects'))).map((f) => path.join(dir, 'objects', f));
    const bytes = await fs.readFile(file!);
    bytes[bytes.length - 100] ^= 0xff;
    await fs.writeFile(file!, bytes);
    expect(await tier.get('/vod/a/seg.m4s')).toBeUndefined();
    expect(tier.has('/vod/a/seg.m4s')).toBe(false);
    await tier.idle();
    expect(await listFiles(path.join(dir, 'objects'))).toEqual([]);
  });

  it('removes the partial file of a write that fails, and keeps working for other keys', async () => {
    const dir = await makeTempDir();
    const tier = new DiskTier(dir, 1 << 20, () => 1000);
    await tier.open();
    // Make the object's folder impossible to create (a file where the folder should be).
    await tier.set('/vod/b/first.m4s', object(100), 60_000);
    const [first] = await listFiles(path.join(dir, 'objects'));
    const blocked = '/vod/b/blocked.m4s';
    const { createHash } = await import('node:crypto');
    const sub = createHash('sha1').update(blocked).digest('hex').slice(0, 2);
    expect(first!.startsWith(`${sub}/`)).toBe(false); // the two keys live in different folders
    await fs.writeFile(path.join(dir, 'objects', sub), 'not a folder');
    await expect(tier.set(blocked, object(3000), 60_000)).rejects.toThrow();
    expect(await fs.readdir(path.join(dir, 'tmp'))).toEqual([]);
    expect(tier.has(blocked)).toBe(false);
    expect(await tier.set('/vod/b/other.m4s', object(100), 60_000)).toBe(true);
  });
});

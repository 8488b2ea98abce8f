import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { isValidKey } from '../../../src/title/object-key.js';
import { listFiles, makeTempDir } from '../../helpers/temp-dir.js';

describe('FsObjectStore', () => {
  it('publishes a staged folder in one step: nothing is visible before commit', async () => {
    const store = new FsObjectStore(await makeTempDir());
    const staging = await store.stage('vod/0123456789abcdef');
    await fs.mkdir(path.join(staging.dir, 'video'), { recursive: true });
    await fs.writeFile(path.join(staging.dir, 'video', 'seg_00000.m4s'), 'x');
    await fs.writeFile(path.join(staging.dir, 'master.m3u8'), '#EXTM3U\n');
    expect(await store.list('vod')).toEqual([]);
    expect(await store.exists('vod/0123456789abcdef/master.m3u8')).toBe(false);
    expect(await staging.commit()).toBe(true);
    expect(await store.list('vod')).toEqual(['0123456789abcdef']);
    expect((await store.get('vod/0123456789abcdef/video/seg_00000.m4s'))?.toString()).toBe('x');
  });

  it('keeps the first publication when a second worker commits the same title', async () => {
    const store = new FsObjectStore(await makeTempDir());
    const a = await store.stage('vod/t');
    const b = await store.stage('vod/t');
    await fs.writeFile(path.join(a.dir, 'f'), 'first');
    await fs.writeFile(path.join(b.dir, 'f'), 'second');
    expect(await a.commit()).toBe(true);
    expect(await b.commit()).toBe(false);
    expect((await store.get('vod/t/f'))?.toString()).toBe('first');
    expect(await listFiles(path.join(store.root, '.staging'))).toEqual([]);
  });

  it('aborting a staging area leaves nothing behind', async () => {
    const store = new FsObjectStore(await makeTempDir());
    const s = await store.stage('vod/t');
    await fs.writeFile(path.join(s.dir, 'f'), 'partial');
    await s.abort();
    expect(await listFiles(store.root)).toEqual([]);
  });

  it('writes files atomically and reads byte ranges', async () => {
    const root = await makeTempDir();
    const store = new FsObjectStore(path.join(root, 'store'));
    const src = path.join(root, 'src.bin');
    await fs.writeFile(src, '0123456789');
    await store.putFile('masters/t/master.mp4', src);
    const st = await store.stat('masters/t/master.mp4');
    expect(st?.sizeBytes).toBe(10);
    expect(st?.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const chunks: Buffer[] = [];
    for await (const c of store.createReadStream('masters/t/master.mp4', { start: 2, end: 4 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('234');
    expect(await store.stat('masters/t')).toBeUndefined(); // folders are not objects
    expect(await store.stat('masters/missing')).toBeUndefined();
  });

  it('refuses keys that could leave the store or reach hidden names', () => {
    const store = new FsObjectStore('/tmp/store-root');
    for (const key of ['', '..', '../x', 'a/../../x', '/etc/passwd', 'a//b', '.staging/x', 'a/.hidden', 'a\\..\\b', 'a/b c']) {
      expect(isValidKey(key), key).toBe(false);
      expect(() => store.localPath(key), key).toThrow(RangeError);
    }
    expect(store.localPath('vod/a/b.m4s')).toBe('/tmp/store-root/vod/a/b.m4s');
  });

  it('sweeps staging folders left by killed workers', async () => {
    const store = new FsObjectStore(await makeTempDir());
    await store.stage('vod/old');
    expect(await store.sweepStaging(60_000)).toBe(0);
    expect(await store.sweepStaging(60_000, Date.now() + 120_000)).toBe(1);
  });
});

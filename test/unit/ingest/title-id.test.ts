import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentTitleId, reissuedTitleId, titleIdFromBytes, titleIdFromFile } from '../../../src/ingest/title-id.js';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { removedMarkerKey, TITLE_ID_PATTERN } from '../../../src/title/title-address.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

describe('title id', () => {
  it('is the first 16 hex digits of the SHA-256 of the content', () => {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (FIPS 180-2 example)
    expect(titleIdFromBytes(Buffer.from('abc'))).toBe('ba7816bf8f01cfea');
    expect(titleIdFromBytes(Buffer.from('abc'))).toMatch(TITLE_ID_PATTERN);
  });

  it('is the same for a file hashed as a stream, whatever its name, and differs with one byte changed', async () => {
    const dir = await makeTempDir();
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 1);
    await fs.writeFile(path.join(dir, 'a.mp4'), bytes);
    await fs.writeFile(path.join(dir, 'b.mov'), bytes);
    bytes[bytes.length - 1] = 2;
    await fs.writeFile(path.join(dir, 'c.mp4'), bytes);
    const seen: number[] = [];
    const a = await titleIdFromFile(path.join(dir, 'a.mp4'), (n) => seen.push(n));
    expect(await titleIdFromFile(path.join(dir, 'b.mov'))).toBe(a);
    expect(await titleIdFromFile(path.join(dir, 'c.mp4'))).not.toBe(a);
    expect(seen.at(-1)).toBe(bytes.length);
    await fs.rm(dir, { recursive: true });
  });

  it('of a removed title is retired: the same content takes the next id of its chain, past every removed one', async () => {
    // sha256("ba7816bf8f01cfea:reissued") starts 84b192d4cf4b8ce4 (Python's hashlib).
    expect(reissuedTitleId('ba7816bf8f01cfea')).toBe('84b192d4cf4b8ce4');
    // A real filesystem store in a temp folder; the markers are what `vod remove` writes.
    const dir = await makeTempDir();
    const store = new FsObjectStore(dir);
    const marker = path.join(dir, 'marker.json');
    await fs.writeFile(marker, '{}');
    expect(await currentTitleId(store, 'ba7816bf8f01cfea')).toBe('ba7816bf8f01cfea');
    await store.putFile(removedMarkerKey('ba7816bf8f01cfea'), marker);
    expect(await currentTitleId(store, 'ba7816bf8f01cfea')).toBe('84b192d4cf4b8ce4');
    await store.putFile(removedMarkerKey('84b192d4cf4b8ce4'), marker);
    expect(await currentTitleId(store, 'ba7816bf8f01cfea')).toBe(reissuedTitleId('84b192d4cf4b8ce4'));
  });
});

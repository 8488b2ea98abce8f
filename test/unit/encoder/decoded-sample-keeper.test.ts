/**
 * DecodedSampleKeeper on its own: `make` here writes a small file instead of running ffmpeg (the
 * real decode is covered by test/integration/encoder/per-title.test.ts); what is tested is which
 * samples are made, shared, kept and deleted.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DecodedSampleKeeper } from '../../../src/encoder/per-title-sample.js';
import { listFiles, makeTempDir } from '../../helpers/temp-dir.js';

/** A `make` that writes `<dir>/sample.nut` and counts its calls. */
function maker() {
  const calls: string[] = [];
  const make = async (dir: string) => {
    calls.push(dir);
    const file = path.join(dir, 'sample.nut');
    await fs.writeFile(file, 'frames');
    return file;
  };
  return { calls, make };
}

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

describe('DecodedSampleKeeper', () => {
  it('decodes a key once for its users, concurrent or one after another, and keeps the latest', async () => {
    const keeper = new DecodedSampleKeeper(await makeTempDir());
    const { calls, make } = maker();
    const seen: (string | undefined)[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = keeper.use('title-a', make, async (p) => {
      seen.push(p);
      await gate;
    });
    const second = keeper.use('title-a', make, async (p) => void seen.push(p));
    await second;
    release();
    await first;
    await keeper.use('title-a', make, async (p) => void seen.push(p));
    expect(calls).toHaveLength(1);
    expect(new Set(seen).size).toBe(1);
    expect(await exists(seen[0]!)).toBe(true); // kept for the next group of the title
  });

  it('deletes an older key once unused, never one in use', async () => {
    const parent = await makeTempDir();
    const keeper = new DecodedSampleKeeper(parent);
    const { make } = maker();
    let a: string | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const holdingA = keeper.use('title-a', make, async (p) => {
      a = p;
      await gate;
    });
    await expect.poll(() => a).toBeDefined();
    let b: string | undefined;
    await keeper.use('title-b', make, async (p) => void (b = p));
    expect(await exists(a!)).toBe(true); // still in use
    release();
    await holdingA;
    expect(await exists(a!)).toBe(false); // unused and not the latest
    expect(await exists(b!)).toBe(true);
    await keeper.clear();
    expect(await listFiles(parent)).toEqual([]);
  });

  it('does not keep a failed decode, and deletes the latest after idleMs', async () => {
    const parent = await makeTempDir();
    const keeper = new DecodedSampleKeeper(parent, 50);
    await expect(keeper.use('title-a', async () => Promise.reject(new Error('ffmpeg failed')), async () => 1)).rejects.toThrow('ffmpeg failed');
    expect(await listFiles(parent)).toEqual([]);
    const { calls, make } = maker();
    let p: string | undefined;
    await keeper.use('title-a', make, async (x) => void (p = x));
    expect(calls).toHaveLength(1); // tried again
    await expect.poll(() => exists(p!), { timeout: 2000 }).toBe(false);
  });
});

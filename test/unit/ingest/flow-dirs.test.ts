/**
 * The flows' temporary folders (flow-store.ts withTempDir): each is named after the process that
 * made it, and sweepDeadFlowDirs removes those of processes that no longer run on this machine
 * (a worker killed mid-job), keeping a running process's and any other folder. Real processes
 * and folders; the sweep runs on a folder of its own, not the OS temp folder.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepDeadFlowDirs, withTempDir } from '../../../src/ingest/flow-store.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

/** The pid of a process that has run and exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('flow temporary folders', () => {
  it("are named after their process and removed with what is in them", async () => {
    let seen = '';
    await withTempDir(async (dir) => {
      seen = dir;
      expect(path.dirname(dir)).toBe(os.tmpdir());
      expect(path.basename(dir)).toMatch(new RegExp(`^vod-flow-${process.pid}-[0-9a-f]+$`));
      await fs.writeFile(path.join(dir, 'sample.yuv'), 'x');
    });
    await expect(fs.stat(seen)).rejects.toThrow();
  });

  it("a dead process's folders are swept; a running process's and other folders are kept", async () => {
    const parent = await makeTempDir();
    const dead = await deadPid();
    const names = [`vod-flow-${dead}-0a1b2c`, `vod-flow-${dead}-ffff`, `vod-flow-${process.pid}-abc123`, 'vod-flow-0a1b2c3d4e5f', 'other-folder'];
    for (const n of names) {
      await fs.mkdir(path.join(parent, n));
      await fs.writeFile(path.join(parent, n, 'chunk.m4s'), 'x');
    }
    expect(await sweepDeadFlowDirs(parent)).toBe(2);
    expect((await fs.readdir(parent)).sort()).toEqual([`vod-flow-${process.pid}-abc123`, 'vod-flow-0a1b2c3d4e5f', 'other-folder'].sort());
    expect(await sweepDeadFlowDirs(parent)).toBe(0);
    expect(await sweepDeadFlowDirs(path.join(parent, 'missing'))).toBe(0);
  });
});

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Temp folders made by this test file's process, removed after its tests (test/helpers/cleanup-temp-dirs.ts). */
const made: string[] = [];

/**
 * A fresh temp folder (short path: Redis's unix socket lives inside it), removed with everything
 * in it once the test file's tests have run — unless VOD_KEEP_TEST_DIRS=1 (to look inside after a
 * failure). Every test run used to leave its folders behind: 12 GB in /tmp after a few days.
 */
export async function makeTempDir(prefix = 'vod-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes the folders makeTempDir made in this process (best effort); called after each test file. */
export async function removeTempDirs(): Promise<void> {
  if (process.env.VOD_KEEP_TEST_DIRS === '1') return;
  for (const dir of made.splice(0)) await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
}

/** Lists every file under a folder, relative paths, sorted ([] when missing). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  await walk(dir, '');
  return out.sort();
}

/**
 * The masters a bench runs on, from BENCH_CLIPS: every clip of `mediaDir` (mp4, mov, mkv, webm)
 * when unset; else the named ones of `mediaDir`, and each entry with a slash as a master of your
 * own, by path (relative to the working folder). `none` names nothing (a bench's synthetic
 * masters only).
 * @returns clip name → path, the shared clips sorted, then the paths in the order given.
 * @throws Error naming an entry with a slash that cannot be read.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export async function benchClips(mediaDir: string, benchClipsEnv = process.env.BENCH_CLIPS): Promise<Map<string, string>> {
  const only = benchClipsEnv?.split(',').map((s) => s.trim());
  const clips = new Map<string, string>();
  for (const f of (await fs.readdir(mediaDir)).filter((f) => /\.(mp4|mov|mkv|webm)$/i.test(f) && (!only || only.includes(f))).sort()) clips.set(f, path.join(mediaDir, f));
  for (const f of (only ?? []).filter((f) => f.includes('/'))) {
    const file = path.resolve(f);
    await fs.access(file).catch(() => {
      throw new Error(`BENCH_CLIPS: cannot read ${file}`);
    });
    clips.set(path.basename(file), file);
  }
  return clips;
}

/**
 * Free space of disks: how much a folder's filesystem still takes (for work files that must fit),
 * and whether the disks a process has written to are full, to tell a full disk from a broken file
 * when a tool does not say (the bundled 2018 ffmpeg exits 0 when its writes fail with ENOSPC).
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';

/**
 * Free bytes under which a disk that was just written to is taken as full: after a failed write
 * less than one I/O buffer (ffmpeg's are 32 KiB) is left, and a job that leaves less than this is
 * out of room anyway.
 */
export const DISK_FULL_BYTES = 1 << 20;

/** Bytes an unprivileged writer may still put on `dir`'s filesystem (statfs `bavail` × `bsize`); undefined when it cannot be read. */
export async function freeBytesOf(dir: string): Promise<number | undefined> {
  return statfs(dir).then((st) => st.bavail * st.bsize).catch(() => undefined);
}

/**
 * The first of `files`' folders whose filesystem has less than DISK_FULL_BYTES free for an
 * unprivileged writer (statfs `bavail`), with its free bytes; undefined when none is. Names
 * that are not paths (`-`, `pipe:1`) and folders that cannot be read are skipped.
 */
export async function fullDiskOf(files: readonly string[]): Promise<{ dir: string; freeBytes: number } | undefined> {
  const dirs = new Set(files.filter((f) => f !== '-' && !/^[a-z]+:/i.test(f)).map((f) => path.dirname(path.resolve(f))));
  for (const dir of dirs) {
    const freeBytes = await freeBytesOf(dir);
    if (freeBytes !== undefined && freeBytes < DISK_FULL_BYTES) return { dir, freeBytes };
  }
  return undefined;
}

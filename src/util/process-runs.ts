/**
 * Whether a process with this pid runs on this machine: `kill(pid, 0)` probes without sending a
 * signal (POSIX kill(2): "If sig is 0, ... error checking is still performed"); EPERM means it
 * runs as another user. Used to tell a dead process's leftovers (temporary folders, the serve
 * record) from a live one's. A pid reused by another process reads as running.
 */
export function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The host's transparent huge pages (THP) mode, which decides how fast the bundled ffmpeg's
 * libvmaf 1.x scores frames: for every scored frame it allocates buffers of about 72 MB and 132 MB
 * (above glibc's largest mmap threshold, 32 MB, so they are always fresh mappings) that the kernel
 * zero-fills page by page. With 4 KiB pages that is about 17,000 page faults per 1080p frame; with
 * THP set to `always` the same buffers come in 2 MiB pages. Measured on this project's 2-core
 * machine (2026-12-03, 38 frames of 1080p, 12 of them scored, n_threads 2): 6.27 s and 658,402
 * minor page faults with `madvise` (the Debian default), 1.85 s and 45,564 with `always` — 3.4×
 * faster; docs/per-title.md. The static ffmpeg cannot ask for huge pages itself (no
 * `madvise(MADV_HUGEPAGE)` in it, no LD_PRELOAD into a static binary), so only the host setting
 * helps. Linux only; the kernel documents the file in Documentation/admin-guide/mm/transhuge.rst.
 */
import fs from 'node:fs/promises';

/** The THP modes the kernel offers in `/sys/kernel/mm/transparent_hugepage/enabled`. */
export type TransparentHugePagesMode = 'always' | 'madvise' | 'never';

/** Where the kernel shows the mode: every choice listed, the active one in brackets. */
export const THP_ENABLED_PATH = '/sys/kernel/mm/transparent_hugepage/enabled';

/** How much faster libvmaf 1.x scored 1080p frames with THP `always` than `madvise` (module header). */
export const VMAF_THP_SPEEDUP = 3.4;

/**
 * The active mode from the text of THP_ENABLED_PATH (`always [madvise] never`).
 * @returns undefined when no choice is bracketed or the bracketed one is not a known mode.
 */
export function parseTransparentHugePagesMode(text: string): TransparentHugePagesMode | undefined {
  const active = /\[(\w+)\]/.exec(text)?.[1];
  return active === 'always' || active === 'madvise' || active === 'never' ? active : undefined;
}

/**
 * This host's THP mode.
 * @returns undefined where the kernel has no such file (not Linux, or THP not built in).
 */
export async function transparentHugePagesMode(file = THP_ENABLED_PATH): Promise<TransparentHugePagesMode | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseTransparentHugePagesMode(text);
}

/**
 * One sentence for a worker that will score VMAF on a host whose THP mode slows libvmaf down,
 * saying what to set and why; undefined when there is nothing to say (mode `always`, or unknown).
 */
export function vmafThpAdvice(mode: TransparentHugePagesMode | undefined): string | undefined {
  if (mode === undefined || mode === 'always') return undefined;
  return `transparent huge pages are '${mode}' on this host: libvmaf in the bundled ffmpeg scores 1080p frames about ${VMAF_THP_SPEEDUP}x faster with 'always' (as root: echo always > ${THP_ENABLED_PATH}; see the README's "Tuning worker machines")`;
}

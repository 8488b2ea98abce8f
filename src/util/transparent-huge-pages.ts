/**
 * How this host's memory handling decides how fast the bundled ffmpeg's libvmaf 1.x scores
 * frames. For every scored frame it allocates buffers of about 72 MB and 132 MB and frees them
 * after; glibc's malloc serves blocks that size with fresh mappings (above its largest mmap
 * threshold, 32 MB, and from a per-thread arena, which cannot grow past 64 MB), and the kernel
 * zero-fills every page of them again for every frame: with 4 KiB pages about 17,000 page faults
 * per 1080p frame, 45% of the time.
 *
 * Two cures, measured on this project's 2-core machine (2026-12-03, 120 frames of noisy 1080p,
 * 40 of them scored, n_threads 2, the same scores in every case; docs/per-title.md):
 * - LIBVMAF_MALLOC_ENV (below), which every process that scores VMAF gets: 24.6 s and
 *   1,895,003 minor page faults → 7.96 s and 184,690 with THP `madvise` (Debian's default) —
 *   3.1× faster, for 230 MB more resident memory (526 → 754 MB);
 * - the host's THP mode `always`, which serves the same buffers in 2 MiB pages: 7.84 s without
 *   the variables, 6.03 s with them (1.3× over the variables alone, VMAF_THP_SPEEDUP).
 * The static ffmpeg cannot ask for huge pages itself (no `madvise(MADV_HUGEPAGE)` in it, no
 * LD_PRELOAD into a static binary), so the THP mode is the host's to set. Linux only; the kernel
 * documents the file in Documentation/admin-guide/mm/transhuge.rst.
 */
import fs from 'node:fs/promises';

/** The THP modes the kernel offers in `/sys/kernel/mm/transparent_hugepage/enabled`. */
export type TransparentHugePagesMode = 'always' | 'madvise' | 'never';

/** Where the kernel shows the mode: every choice listed, the active one in brackets. */
export const THP_ENABLED_PATH = '/sys/kernel/mm/transparent_hugepage/enabled';

/**
 * How much faster libvmaf 1.x scored 1080p frames with THP `always` than `madvise`, both with
 * LIBVMAF_MALLOC_ENV (module header: 7.96 s → 6.03 s; without the variables it was 3.1×).
 */
export const VMAF_THP_SPEEDUP = 1.3;

/**
 * glibc malloc settings for an ffmpeg process that scores VMAF (RunOptions.env), so that
 * libvmaf's per-frame buffers are reused instead of mapped and zero-filled anew for every frame
 * (module header: 3.1× faster with THP `madvise`). All three are needed (38 frames of 1080p: 665,000
minor page faults with none, 648,000 with the first alone, 457,000 without the third, 160,000
with all three — the heap's first touch):
 * - MALLOC_ARENA_MAX=1: every thread allocates from the main arena, which grows with brk
 *   without a size limit (a thread's own arena cannot hold a 132 MB block and falls back to
 *   mmap whatever the other settings say);
 * - MALLOC_MMAP_MAX_=0: no block is served by mmap, however large;
 * - MALLOC_TRIM_THRESHOLD_=2000000000: freed memory at the top of the heap is kept for the next
 *   frame instead of returned to the kernel (2 GB; the variable is read as an int).
 * Variables from glibc's manual ("Memory Allocation Tunables"; the MALLOC_*_ spellings are the
 * ones the static 2018 build reads). Costs the peak allocation as resident memory for the
 * process's life (about 230 MB more at 1080p). x264 encodes were not faster with them (measured
 * 7.03/6.49 s without, 7.75/6.51 s with), so only scoring processes get them. libvmaf 2.3 in the
 * bundled ffprobe (lavfi-scorer.ts) gets them too: a concatenated batch of 14 trials (742 1080p
 * frames fed, 238 scored; 2026-12-05, alternating runs) took 11.18–11.61 s (mean 11.31, 5 runs)
 * with them against 11.45–12.42 s (mean 11.77, 4 warm runs) without, with 3.3× fewer minor page
 * faults (143,000 against 456,000–485,000) and the same resident memory (585–590 MB).
 */
export const LIBVMAF_MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '1',
  MALLOC_MMAP_MAX_: '0',
  MALLOC_TRIM_THRESHOLD_: '2000000000',
});

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

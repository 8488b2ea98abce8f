/**
 * The per-title trial grid's default CRF values, in a module of its own so that the `vod` command
 * line can name them in `vod ladder --help` without loading the analysis.
 */

/**
 * x264 CRF values of the trial grid, 6 apart (about a doubling of bitrate per step, x264's
 * rate-control rule of thumb: ±6 CRF ≈ ×0.5/×2 bitrate). 20 reaches visually transparent
 * quality on most content at the top resolution; 38 reaches below the 145 kbit/s floor at
 * the lowest.
 */
export const DEFAULT_CRF_VALUES: readonly number[] = Object.freeze([38, 32, 26, 20]);

/**
 * The per-title analysis's candidate resolutions: the boxes it may trial-encode and how they are
 * fitted to a source (planAnalysis in per-title.ts makes one trial group per candidate).
 */
import { fitToBox, orientBox, toEven } from './fixed-ladder.js';

/** Candidate resolutions as 16:9 bounding boxes (the 1080p … 234p); fitted to the source's aspect ratio. */
export const PER_TITLE_RESOLUTION_BOXES: readonly { width: number; height: number }[] = Object.freeze([
  { width: 1920, height: 1080 },
  { width: 1280, height: 720 },
  { width: 960, height: 540 },
  { width: 768, height: 432 },
  { width: 640, height: 360 },
  { width: 416, height: 234 },
]);

/** The source's own size joins the candidates when it is at least this much taller than the largest fitted box (our choice). */
export const NATIVE_CANDIDATE_RATIO = 1.1;

/**
 * Candidate trial resolutions for a source: each box (turned for a portrait source, orientBox)
 * fitted to the source's display aspect ratio, never upscaling; plus the source's own size when
 * it fits the largest box and no box comes within NATIVE_CANDIDATE_RATIO of it (a 640x480
 * source would otherwise top out at 576x432), or when it is smaller than every box.
 * @returns distinct sizes, largest first.
 */
export function candidateResolutions(source: { displayWidth: number; displayHeight: number }): { width: number; height: number }[] {
  const out: { width: number; height: number }[] = [];
  for (const landscape of PER_TITLE_RESOLUTION_BOXES) {
    const box = orientBox(source, landscape);
    const fit = fitToBox(source, box.width, box.height);
    if (!fit.upscales && !out.some((r) => r.height === fit.height)) out.push({ width: fit.width, height: fit.height });
  }
  const native = { width: toEven(source.displayWidth), height: toEven(source.displayHeight) };
  // Never larger than the largest box: a 4K master's native size would be an H.264 rung at
  // level 5.1, where Apple's HLS Authoring Specification 1.3 allows at most High Profile level
  // 4.2 (1080p) and the fixed ladder stops at the box.
  const top = orientBox(source, PER_TITLE_RESOLUTION_BOXES[0]!);
  const withinTop = native.width <= top.width && native.height <= top.height;
  if (out.length === 0 || (withinTop && native.height >= out[0]!.height * NATIVE_CANDIDATE_RATIO)) out.unshift(native);
  return out;
}

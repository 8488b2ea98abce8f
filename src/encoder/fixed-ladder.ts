/**
 * The fixed bitrate ladder: the reference every per-title ladder is measured against.
 *
 * Rungs are the H.264 rungs of Apple's "HLS Authoring Specification for Apple Devices"
 * (section 2, video bit-rate ladder for 16:9 content). Each rung is a bounding box: the source
 * is scaled to fit inside it keeping its display aspect ratio, and rungs that would upscale the
 * source are dropped. The table's frame-rate column: "≤ 30 fps" up to 768x432, "same as source"
 * above (fixedLadderFor with the title's frame rate; halfFrameRateFor).
 */

export interface LadderRung {
  /** Output frame width and height in pixels (even numbers; square pixels). */
  readonly width: number;
  readonly height: number;
  /** Target average video bitrate in bits per second. */
  readonly bitrateBps: number;
  /**
   * Per-title rungs: encode at this x264 CRF capped by the rung's maxrate (rendition.ts) instead
   * of targeting `bitrateBps` with one-pass ABR. Absent for the fixed ladder.
   */
  readonly crf?: number | undefined;
  /**
   * A per-title rung's VBV peak rate, bits/s, when lower than the usual `bitrateBps` ×
   * MAXRATE_FACTOR (rendition.ts): a rung within that factor of the ladder's cap peaks at the cap
   * (per-title-ladder.ts rungMaxrate). Absent = bitrateBps × MAXRATE_FACTOR.
   */
  readonly maxrateBps?: number | undefined;
  /** Video codec of the rung's encode (rendition.ts VIDEO_CODECS); default H.264. */
  readonly codec?: VideoCodec | undefined;
  /**
   * Output frame rate, frames/s, when below the title's (a per-title half-rate low rung:
   * per-title.ts halfFrameRateFor); absent = the title's rate.
   */
  readonly frameRate?: number | undefined;
}

/** Video codecs a ladder can be encoded in: H.264/AVC (libx264) and HEVC/H.265 (libx265). */
export const VIDEO_CODEC_NAMES = ['h264', 'hevc'] as const;
export type VideoCodec = (typeof VIDEO_CODEC_NAMES)[number];

/** Apple HLS Authoring Specification, section 2 (16:9 H.264 ladder), as bounding boxes. */
export const APPLE_FIXED_LADDER: readonly LadderRung[] = Object.freeze([
  { width: 416, height: 234, bitrateBps: 145_000 },
  { width: 640, height: 360, bitrateBps: 365_000 },
  { width: 768, height: 432, bitrateBps: 730_000 },
  { width: 768, height: 432, bitrateBps: 1_100_000 },
  { width: 960, height: 540, bitrateBps: 2_000_000 },
  { width: 1280, height: 720, bitrateBps: 3_000_000 },
  { width: 1280, height: 720, bitrateBps: 4_500_000 },
  { width: 1920, height: 1080, bitrateBps: 6_000_000 },
  { width: 1920, height: 1080, bitrateBps: 7_800_000 },
]);

/**
 * Half-rate low rungs. Apple's HLS Authoring Specification lists its H.264 rungs up to 768x432
 * at 30 fps or less and the larger ones at the source's frame rate (HALF_RATE_MAX_HEIGHT = 432).
 * A title at HALF_RATE_MIN_FRAME_RATE fps or more (48, 50, 59.94, 60) gets those fixed-ladder
 * rungs at half its rate (fixedLadderFor), and its per-title analysis also trials its candidate
 * resolutions whose short side is at most 432 at half rate, the convex hull picking, per
 * bitrate, whichever rate wins (per-title.ts; docs/per-title.md "Frame rate of the low rungs"). The minimum
 * keeps half rates at or above 23.976 fps (film); `npm run bench:half-frame-rate` measured half
 * rate 28–32% cheaper at equal VMAF on camera-like motion at 234p/360p, and worse above VMAF
 * ~35–46 on sharp noisy motion — so the per-title analysis tries both rates rather than follow
 * Apple's rule.
 */
export const HALF_RATE_MAX_HEIGHT = 432;
export const HALF_RATE_MIN_FRAME_RATE = 47.9;

/** The half rate of a title's low rungs (fixed ladder) and low trial variants (per-title), frames/s; undefined below HALF_RATE_MIN_FRAME_RATE. */
export function halfFrameRateFor(frameRate: number): number | undefined {
  return frameRate >= HALF_RATE_MIN_FRAME_RATE ? frameRate / 2 : undefined;
}

export interface SourceDimensions {
  /** Display width and height of the master in pixels (sample aspect ratio applied). */
  readonly displayWidth: number;
  readonly displayHeight: number;
}

/** Rounds to the nearest even number of pixels, at least 2 (4:2:0 chroma needs even sizes). */
export function toEven(pixels: number): number {
  return Math.max(2, Math.round(pixels / 2) * 2);
}

/**
 * Scales the source to fit inside a `boxWidth` x `boxHeight` box, keeping its aspect ratio.
 * @returns even output dimensions in pixels, and `upscales` when the fit is larger than the source.
 */
export function fitToBox(
  source: SourceDimensions,
  boxWidth: number,
  boxHeight: number,
): { width: number; height: number; upscales: boolean } {
  const scale = Math.min(boxWidth / source.displayWidth, boxHeight / source.displayHeight);
  const width = toEven(source.displayWidth * scale);
  const height = toEven(source.displayHeight * scale);
  return { width, height, upscales: width > toEven(source.displayWidth) || height > toEven(source.displayHeight) };
}

/**
 * A landscape box turned to the source's orientation: for a portrait source (taller than
 * wide) width and height swap, 1920x1080 → 1080x1920. The ladders' boxes are written for
 * landscape video; fitted unturned, a 1080x1920 phone recording topped out at 608x1080 (a third
 * of the pixels the box's bitrate is set for) and a portrait viewer's full-screen picture was
 * upscaled. Turning them is the usual practice for portrait renditions (a "720p" portrait
 * stream is 720x1280: the box's short side is the picture's short side); our choice, since
 * Apple's table lists 16:9 landscape sizes only.
 * @returns the box as given for a landscape or square source, turned for a portrait one.
 */
export function orientBox(source: SourceDimensions, box: { readonly width: number; readonly height: number }): { width: number; height: number } {
  const portrait = source.displayHeight > source.displayWidth;
  return portrait && box.width > box.height ? { width: box.height, height: box.width } : { width: box.width, height: box.height };
}

/**
 * The fixed ladder for one master: every rung of `ladder` (turned by orientBox for a portrait
 * source) fitted to the source's aspect ratio, dropping rungs that would upscale. A source smaller than the lowest rung gets one
 * rung at its own size and the lowest rung's bitrate. With the title's `frameRate`, a title of
 * 48 fps or more has the rungs of Apple's "≤ 30 fps" rows (boxes up to HALF_RATE_MAX_HEIGHT lines)
 * at half its rate, as Apple's table lists them; without it every rung is at the title's rate.
 * @param source display size of the master in pixels.
 * @param frameRate the title's output frame rate, frames/s.
 * @returns rungs in ascending bitrate order; never empty.
 * @throws RangeError when the source dimensions are not positive.
 */
export function fixedLadderFor(source: SourceDimensions, ladder: readonly LadderRung[] = APPLE_FIXED_LADDER, frameRate?: number): LadderRung[] {
  if (!(source.displayWidth > 0 && source.displayHeight > 0)) {
    throw new RangeError(`source dimensions must be positive, got ${source.displayWidth}x${source.displayHeight}`);
  }
  const rungs: LadderRung[] = [];
  for (const rung of ladder) {
    const box = orientBox(source, rung);
    const fit = fitToBox(source, box.width, box.height);
    const half = frameRate !== undefined && Math.min(rung.width, rung.height) <= HALF_RATE_MAX_HEIGHT ? halfFrameRateFor(frameRate) : undefined;
    if (!fit.upscales) rungs.push({ width: fit.width, height: fit.height, bitrateBps: rung.bitrateBps, ...(half !== undefined ? { frameRate: half } : {}) });
  }
  if (rungs.length === 0) {
    const lowest = [...ladder].sort((a, b) => a.bitrateBps - b.bitrateBps)[0]!;
    rungs.push({ width: toEven(source.displayWidth), height: toEven(source.displayHeight), bitrateBps: lowest.bitrateBps });
  }
  return rungs.sort((a, b) => a.bitrateBps - b.bitrateBps);
}

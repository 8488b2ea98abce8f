/**
 * Chunk planning: a title is cut at segment boundaries into chunks of a whole number of
 * segments, so chunks can be encoded apart (by any worker) and stitched back with the same
 * segment timing as a one-pass encode (DESIGN.md: chunks are cut at segment boundaries).
 */

export interface Chunk {
  /** 0-based position in the title. */
  readonly index: number;
  /** Start in the master, s (a multiple of the segment duration). */
  readonly startS: number;
  /** Length, s (the last chunk holds what is left). */
  readonly durationS: number;
  /** Index of the chunk's first segment in the title. */
  readonly firstSegment: number;
  /**
   * Where the chunk's input seek starts, s (≤ startS), in a master whose container is not sought
   * exactly (master-seek.ts seeksToKeyframe: MPEG-TS): INEXACT_SEEK_MARGIN_S before the keyframe at or
   * before `startS` (master-seek.ts withSeekStarts); the frames up to `startS` are decoded and dropped. Absent:
   * the seek is at `startS` and lands on that keyframe by itself.
   */
  readonly seekFromS?: number;
}

/**
 * How far a chunk may stray from the wanted length to start near one of the master's keyframes:
 * between these multiples of it (in whole segments). Our choice: chunks stay within ±50% of
 * the configured length, so the number of chunks (and of child jobs) barely changes.
 */
export const CHUNK_LENGTH_RANGE = Object.freeze({ min: 0.5, max: 1.5 });

/** Two pre-rolls closer than this are taken as equal (then the boundary nearest the wanted length wins), s. */
const PREROLL_TOLERANCE_S = 0.05;

/**
 * Seconds a chunk starting at `startS` decodes before its first frame: from the master's last
 * keyframe at or before it (input seeking lands there; ffmpeg then decodes up to the start).
 * @param keyframesS keyframe times from the master's start, ascending.
 */
export function prerollS(keyframesS: readonly number[], startS: number): number {
  let lo = 0;
  let hi = keyframesS.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyframesS[mid]! <= startS + 1e-6) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best < 0 ? startS : Math.max(0, startS - keyframesS[best]!);
}

/**
 * Cuts `[0, durationS)` into chunks of `round(chunkDurationS / segmentDurationS)` segments
 * (at least one). The last chunk takes the rest, however short; a title no longer than one
 * chunk is one chunk. `chunkDurationS` 0 means one chunk for the whole title.
 *
 * With the master's keyframe times, each chunk boundary is the segment boundary, within
 * CHUNK_LENGTH_RANGE of the wanted length and leaving at least the range's shortest chunk after
 * it, whose pre-roll (prerollS) is least — the nearest to the wanted length among equals (no
 * such boundary: the wanted length). Every chunk's encode and measurement seek into the master and
 * decode from the keyframe before their start: with x264's default 250-frame GOP that was up
 * to 8 s of 1080p per chunk, twice (bench:encode, 26.8% chunking overhead against 2.2% for a
 * master with 1 s GOPs). An intra-only or short-GOP master keeps the wanted lengths.
 * @param durationS title duration, s (> 0).
 * @param segmentDurationS HLS target segment duration, s (> 0).
 * @param chunkDurationS wanted chunk length, s (about 30-60 s in production; tests use a few).
 * @param keyframesS the master's video keyframe times from its start, s, ascending (optional).
 * @throws RangeError for non-positive durations.
 */
export function planChunks(durationS: number, segmentDurationS: number, chunkDurationS: number, keyframesS?: readonly number[]): Chunk[] {
  if (!(durationS > 0) || !(segmentDurationS > 0) || !(chunkDurationS >= 0)) {
    throw new RangeError(`cannot plan chunks of ${durationS} s in ${segmentDurationS} s segments, ${chunkDurationS} s chunks`);
  }
  if (chunkDurationS === 0) return [{ index: 0, startS: 0, durationS, firstSegment: 0 }];
  const segmentsPerChunk = Math.max(1, Math.round(chunkDurationS / segmentDurationS));
  const chunkS = segmentsPerChunk * segmentDurationS;
  const minSegments = Math.max(1, Math.ceil(segmentsPerChunk * CHUNK_LENGTH_RANGE.min));
  const maxSegments = Math.max(minSegments, Math.floor(segmentsPerChunk * CHUNK_LENGTH_RANGE.max));
  const chunks: Chunk[] = [];
  let firstSegment = 0;
  // A remainder of under a millisecond is container rounding, not a chunk.
  for (let index = 0; durationS - firstSegment * segmentDurationS > 1e-3; index++) {
    const startS = firstSegment * segmentDurationS;
    let segments = segmentsPerChunk;
    const restS = durationS - startS;
    if (keyframesS && keyframesS.length > 0 && restS > chunkS) {
      // Candidate next boundaries: whole segments within the range that leave at least a
      // shortest chunk after them (none: the wanted length, as without keyframes).
      const candidates: { segments: number; preroll: number }[] = [];
      for (let k = minSegments; k <= maxSegments && restS - k * segmentDurationS >= minSegments * segmentDurationS - 1e-3; k++) {
        candidates.push({ segments: k, preroll: prerollS(keyframesS, startS + k * segmentDurationS) });
      }
      if (candidates.length > 0) {
        const least = Math.min(...candidates.map((c) => c.preroll));
        const near = candidates.filter((c) => c.preroll <= least + PREROLL_TOLERANCE_S);
        segments = near.reduce((a, b) => (Math.abs(b.segments - segmentsPerChunk) < Math.abs(a.segments - segmentsPerChunk) ? b : a)).segments;
      }
    }
    chunks.push({ index, startS, durationS: Math.min(segments * segmentDurationS, durationS - startS), firstSegment });
    firstSegment += segments;
  }
  return chunks;
}

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
}

/**
 * Cuts `[0, durationS)` into chunks of `round(chunkDurationS / segmentDurationS)` segments
 * (at least one). The last chunk takes the rest, however short; a title no longer than one
 * chunk is one chunk. `chunkDurationS` 0 means one chunk for the whole title.
 * @param durationS title duration, s (> 0).
 * @param segmentDurationS HLS target segment duration, s (> 0).
 * @param chunkDurationS wanted chunk length, s (about 30-60 s in production; tests use a few).
 * @throws RangeError for non-positive durations.
 */
export function planChunks(durationS: number, segmentDurationS: number, chunkDurationS: number): Chunk[] {
  if (!(durationS > 0) || !(segmentDurationS > 0) || !(chunkDurationS >= 0)) {
    throw new RangeError(`cannot plan chunks of ${durationS} s in ${segmentDurationS} s segments, ${chunkDurationS} s chunks`);
  }
  if (chunkDurationS === 0) return [{ index: 0, startS: 0, durationS, firstSegment: 0 }];
  const segmentsPerChunk = Math.max(1, Math.round(chunkDurationS / segmentDurationS));
  const chunkS = segmentsPerChunk * segmentDurationS;
  const chunks: Chunk[] = [];
  // A remainder of under a millisecond is container rounding, not a chunk.
  for (let startS = 0, index = 0; durationS - startS > 1e-3; startS += chunkS, index++) {
    chunks.push({ index, startS, durationS: Math.min(chunkS, durationS - startS), firstSegment: index * segmentsPerChunk });
  }
  return chunks;
}

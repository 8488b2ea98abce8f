/**
 * Reading ISO base media file format boxes (ISO/IEC 14496-12 §4.2) out of fMP4 bytes: the box
 * walker that stitching (fmp4-rebase.ts) and trick play (trick-play.ts) share, and the byte range
 * of a fragment's first sample (its keyframe), for I-frame playlists.
 */

export interface Box {
  readonly type: string;
  /** Offset of the box's first byte. */
  readonly start: number;
  /** Offset of the byte after the box. */
  readonly end: number;
  /** Offset of the box's payload (after size, type and any largesize). */
  readonly payload: number;
}

/** The boxes of a byte range (ISO/IEC 14496-12 §4.2: 32-bit size, 1 = 64-bit largesize, 0 = to the end). */
export function boxes(buf: Buffer, from: number, to: number): Box[] {
  const out: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let payload = at + 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      payload = at + 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < 8 || at + size > to) throw new RangeError(`malformed '${type}' box at byte ${at}`);
    out.push({ type, start: at, end: at + size, payload });
    at += size;
  }
  return out;
}

/** The first child box of `parent` with this type. */
export const child = (buf: Buffer, parent: Box, type: string): Box | undefined => boxes(buf, parent.payload, parent.end).find((b) => b.type === type);

/** A fragment's first sample: where its bytes are, and whether it is a sync sample (keyframe). */
export interface FirstSample {
  /** Offset of the fragment's `moof` box in the segment, bytes. */
  readonly moofOffset: number;
  /** Offset of the sample's data (inside `mdat`), bytes. */
  readonly dataOffset: number;
  readonly sizeBytes: number;
  /** False when its sample flags say sample_is_non_sync_sample (§8.8.3.1). */
  readonly isSync: boolean;
}

/** One sample of a track run. */
export interface FragmentSample {
  /** Offset of the sample's data in the segment, bytes. */
  readonly offset: number;
  readonly sizeBytes: number;
  /** Sample flags (§8.8.3.1), when the run or the tfhd gives them. */
  readonly flags: number | undefined;
  /**
   * Where its sample_composition_time_offset field is in the segment (§8.8.8: unsigned in a
   * version 0 trun, signed in version 1), when the run has them.
   */
  readonly compositionOffsetAt?: number;
}

/** A track run (`trun`, §8.8.8) of a track fragment, with where its data_offset field is. */
export interface TrackRun {
  readonly trun: Box;
  /** Offset of the trun's data_offset field in the segment. */
  readonly dataOffsetAt: number;
  readonly samples: readonly FragmentSample[];
}

/**
 * The samples of a track fragment (`traf` in `moof`): `tfhd` (§8.8.7) gives the base data offset
 * (the `moof`'s first byte, or base_data_offset when present) and the default size and flags,
 * each `trun` (§8.8.8) its data_offset and per-sample sizes and flags (first_sample_flags for its
 * first sample).
 * @returns the tfhd flags, whether the tfhd carries an explicit base_data_offset, and the runs.
 * @throws RangeError when the traf has no tfhd, a run has no data_offset, a sample has no size,
 *         or a sample lies outside the bytes.
 */
export function trackFragmentRuns(buf: Buffer, moof: Box, traf: Box): { readonly tfhd: Box; readonly hasBaseDataOffset: boolean; readonly runs: TrackRun[] } {
  const tfhd = child(buf, traf, 'tfhd');
  if (!tfhd) throw new RangeError('traf has no tfhd');
  const tfFlags = buf.readUInt32BE(tfhd.payload) & 0xffffff;
  let at = tfhd.payload + 8; // version+flags, track_ID
  let base = moof.start;
  if (tfFlags & 0x1) {
    base = Number(buf.readBigUInt64BE(at));
    at += 8;
  }
  if (tfFlags & 0x2) at += 4;
  if (tfFlags & 0x8) at += 4;
  let defaultSize: number | undefined;
  if (tfFlags & 0x10) {
    defaultSize = buf.readUInt32BE(at);
    at += 4;
  }
  const defaultFlags: number | undefined = tfFlags & 0x20 ? buf.readUInt32BE(at) : undefined;
  const runs: TrackRun[] = [];
  for (const trun of boxes(buf, traf.payload, traf.end).filter((b) => b.type === 'trun')) {
    const trFlags = buf.readUInt32BE(trun.payload) & 0xffffff;
    const count = buf.readUInt32BE(trun.payload + 4);
    let p = trun.payload + 8;
    if (!(trFlags & 0x1)) throw new RangeError('a trun without data_offset');
    const dataOffsetAt = p;
    let offset = base + buf.readInt32BE(p);
    p += 4;
    let firstFlags: number | undefined;
    if (trFlags & 0x4) {
      firstFlags = buf.readUInt32BE(p);
      p += 4;
    }
    const samples: FragmentSample[] = [];
    for (let i = 0; i < count; i++) {
      if (trFlags & 0x100) p += 4;
      let size = defaultSize;
      if (trFlags & 0x200) {
        size = buf.readUInt32BE(p);
        p += 4;
      }
      let flags = i === 0 && firstFlags !== undefined ? firstFlags : defaultFlags;
      if (trFlags & 0x400) {
        if (!(i === 0 && firstFlags !== undefined)) flags = buf.readUInt32BE(p);
        p += 4;
      }
      let compositionOffsetAt: number | undefined;
      if (trFlags & 0x800) {
        compositionOffsetAt = p;
        p += 4;
      }
      if (size === undefined) throw new RangeError('a sample has no size');
      if (offset < 0 || offset + size > buf.length) throw new RangeError('a sample lies outside the segment');
      samples.push({ offset, sizeBytes: size, flags, ...(compositionOffsetAt !== undefined ? { compositionOffsetAt } : {}) });
      offset += size;
    }
    runs.push({ trun, dataOffsetAt, samples });
  }
  return { tfhd, hasBaseDataOffset: (tfFlags & 0x1) !== 0, runs };
}

/**
 * The first sample of the first movie fragment of a segment (trackFragmentRuns of its first
 * `traf`).
 * @throws RangeError when the segment has no moof/traf/tfhd/trun, or the sample lies outside the bytes.
 */
export function firstSample(segment: Buffer): FirstSample {
  const moof = boxes(segment, 0, segment.length).find((b) => b.type === 'moof');
  const traf = moof && child(segment, moof, 'traf');
  if (!moof || !traf || !child(segment, traf, 'trun')) throw new RangeError('segment has no moof with a traf, tfhd and trun');
  const first = trackFragmentRuns(segment, moof, traf).runs[0]?.samples[0];
  if (!first) throw new RangeError('the first trun has no sample');
  return { moofOffset: moof.start, dataOffset: first.offset, sizeBytes: first.sizeBytes, isSync: first.flags === undefined ? true : (first.flags & 0x10000) === 0 };
}

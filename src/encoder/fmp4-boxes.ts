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

/**
 * The first sample of the first movie fragment of a segment: `tfhd` (§8.8.7) and `trun`
 * (§8.8.8) of its first `traf` give the data offset (from the `moof`, or from
 * base_data_offset when present), the size (per-sample, else the default) and the flags
 * (first_sample_flags, per-sample, else the default).
 * @throws RangeError when the segment has no moof/traf/tfhd/trun, or the sample lies outside the bytes.
 */
export function firstSample(segment: Buffer): FirstSample {
  const moof = boxes(segment, 0, segment.length).find((b) => b.type === 'moof');
  const traf = moof && child(segment, moof, 'traf');
  const tfhd = traf && child(segment, traf, 'tfhd');
  const trun = traf && child(segment, traf, 'trun');
  if (!moof || !tfhd || !trun) throw new RangeError('segment has no moof with a traf, tfhd and trun');
  const tfFlags = segment.readUInt32BE(tfhd.payload) & 0xffffff;
  let at = tfhd.payload + 8; // version+flags, track_ID
  let base = moof.start;
  if (tfFlags & 0x1) {
    base = Number(segment.readBigUInt64BE(at));
    at += 8;
  }
  if (tfFlags & 0x2) at += 4;
  if (tfFlags & 0x8) at += 4;
  let size: number | undefined;
  if (tfFlags & 0x10) {
    size = segment.readUInt32BE(at);
    at += 4;
  }
  let flags: number | undefined = tfFlags & 0x20 ? segment.readUInt32BE(at) : undefined;
  const trFlags = segment.readUInt32BE(trun.payload) & 0xffffff;
  const count = segment.readUInt32BE(trun.payload + 4);
  if (count === 0) throw new RangeError('the first trun has no sample');
  let p = trun.payload + 8;
  let dataOffset = base;
  if (trFlags & 0x1) {
    dataOffset = base + segment.readInt32BE(p);
    p += 4;
  }
  if (trFlags & 0x4) {
    flags = segment.readUInt32BE(p);
    p += 4;
  }
  if (trFlags & 0x100) p += 4;
  if (trFlags & 0x200) {
    size = segment.readUInt32BE(p);
    p += 4;
  }
  if (trFlags & 0x400 && !(trFlags & 0x4)) flags = segment.readUInt32BE(p);
  if (size === undefined) throw new RangeError('the first sample has no size');
  if (dataOffset < 0 || dataOffset + size > segment.length) throw new RangeError('the first sample lies outside the segment');
  return { moofOffset: moof.start, dataOffset, sizeBytes: size, isSync: flags === undefined ? true : (flags & 0x10000) === 0 };
}

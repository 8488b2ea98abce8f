/**
 * Moving a CMAF fragment in time, for stitching separately encoded chunks into one rendition:
 * every chunk's encode starts its decode timeline at 0, so each fragment's `tfdt`
 * (baseMediaDecodeTime, ISO/IEC 14496-12 §8.8.12) is shifted by the chunk's start in the
 * track's timescale (the `mdhd` of the init segment, §8.4.2), each segment index's `sidx`
 * earliest_presentation_time (§8.16.3, in the sidx's own timescale) by the same time, and each
 * `mfhd` sequence_number (§8.8.5) is renumbered so they rise through the whole rendition.
 * (Players such as hls.js time fragments by `tfdt`; ffmpeg's mp4 demuxer times them by `sidx`
 * when there is one, so both must move.) Pure functions on bytes; no other box changes.
 */

import { boxes, child } from './fmp4-boxes.js';

/**
 * The timescale (ticks per second) of the first video track of an init segment: moov → trak
 * with an `hdlr` of type 'vide' → mdia → mdhd.
 * @throws RangeError when there is none.
 */
export function videoTimescale(init: Buffer): number {
  const moov = boxes(init, 0, init.length).find((b) => b.type === 'moov');
  if (!moov) throw new RangeError('init segment has no moov box');
  for (const trak of boxes(init, moov.payload, moov.end).filter((b) => b.type === 'trak')) {
    const mdia = child(init, trak, 'mdia');
    const hdlr = mdia && child(init, mdia, 'hdlr');
    if (!mdia || !hdlr || init.toString('latin1', hdlr.payload + 8, hdlr.payload + 12) !== 'vide') continue;
    const mdhd = child(init, mdia, 'mdhd');
    if (!mdhd) break;
    const version = init.readUInt8(mdhd.payload);
    return init.readUInt32BE(mdhd.payload + (version === 1 ? 20 : 12));
  }
  throw new RangeError('init segment has no video track with a timescale');
}

/** Adds `delta` to a version-0 (32-bit) or version-1 (64-bit) time field at `at`. */
function addToTime(buf: Buffer, at: number, wide: boolean, delta: number, what: string): void {
  if (wide) {
    buf.writeBigUInt64BE(buf.readBigUInt64BE(at) + BigInt(delta), at);
    return;
  }
  const t = buf.readUInt32BE(at) + delta;
  if (t > 0xffffffff) throw new RangeError(`${what} overflows a version-0 box`);
  buf.writeUInt32BE(t, at);
}

/**
 * Returns a copy of a media segment (styp? sidx* moof mdat …) with every `tfdt` moved later by
 * `decodeTimeOffset` ticks of the track's `timescale`, every `sidx` earliest_presentation_time
 * by the same time in the sidx's timescale (rounded to its nearest tick), and every `mfhd`
 * sequence number raised by `sequenceOffset`.
 * @throws RangeError for a malformed segment, or a version-0 box the shift would overflow.
 */
export function rebaseFragment(segment: Buffer, decodeTimeOffset: number, sequenceOffset: number, timescale: number): Buffer {
  const out = Buffer.from(segment);
  for (const top of boxes(out, 0, out.length)) {
    if (top.type === 'sidx') {
      // version(1) flags(3) reference_ID(4) timescale(4) earliest_presentation_time(4 | 8)
      const sidxTimescale = out.readUInt32BE(top.payload + 8);
      const shift = sidxTimescale === timescale ? decodeTimeOffset : Math.round((decodeTimeOffset * sidxTimescale) / timescale);
      addToTime(out, top.payload + 12, out.readUInt8(top.payload) === 1, shift, 'earliest_presentation_time');
      continue;
    }
    if (top.type !== 'moof') continue;
    for (const box of boxes(out, top.payload, top.end)) {
      if (box.type === 'mfhd') {
        out.writeUInt32BE(out.readUInt32BE(box.payload + 4) + sequenceOffset, box.payload + 4);
      } else if (box.type === 'traf') {
        const tfdt = child(out, box, 'tfdt');
        if (tfdt) addToTime(out, tfdt.payload + 4, out.readUInt8(tfdt.payload) === 1, decodeTimeOffset, 'baseMediaDecodeTime');
      }
    }
  }
  return out;
}

/** The `sidx` earliest_presentation_time of a segment's first segment index, in seconds; undefined without one (tests, checks). */
export function firstSidxPresentationTimeS(segment: Buffer): number | undefined {
  const sidx = boxes(segment, 0, segment.length).find((b) => b.type === 'sidx');
  if (!sidx) return undefined;
  const t = segment.readUInt8(sidx.payload) === 1 ? Number(segment.readBigUInt64BE(sidx.payload + 12)) : segment.readUInt32BE(sidx.payload + 12);
  return t / segment.readUInt32BE(sidx.payload + 8);
}

/** The `tfdt` baseMediaDecodeTime of a segment's first fragment, ticks (tests, checks). */
export function firstDecodeTime(segment: Buffer): number {
  for (const moof of boxes(segment, 0, segment.length).filter((b) => b.type === 'moof')) {
    const traf = child(segment, moof, 'traf');
    const tfdt = traf && child(segment, traf, 'tfdt');
    if (tfdt) return segment.readUInt8(tfdt.payload) === 1 ? Number(segment.readBigUInt64BE(tfdt.payload + 4)) : segment.readUInt32BE(tfdt.payload + 4);
  }
  throw new RangeError('segment has no tfdt');
}

/** Number of movie fragments (`moof` boxes) at the top level of a segment. */
export function countFragments(segment: Buffer): number {
  return boxes(segment, 0, segment.length).filter((b) => b.type === 'moof').length;
}

/**
 * Video fragments whose presentation starts on the segment boundary.
 *
 * x264 with B-frames delays presentation: the first frame in decode order (the keyframe) is shown
 * two frames after its decode time, so ffmpeg's fMP4 writes every sample's composition offset
 * (`trun` sample_composition_time_offset, ISO/IEC 14496-12 §8.8.8) as that delay or more, and an
 * edit list in the init segment (`edts`/`elst`, §8.6.5-6) that maps it back. Players of fragmented
 * MP4 over MSE do not apply the edit list (hls.js reads `tfdt` and the offsets only), so every
 * video segment of a rendition shows from 4N + 0.083 s (24 fps) to 4N + 4.083 s while the playlist
 * and the audio say 4N to 4N + 4: after one fragment of a level is parsed, hls.js moves the
 * level's next fragments by that drift, and on a level switch its fragment lookup finds the
 * buffer end (about 4N + 4) inside the new level's fragment N — the one just loaded at the old
 * level — and loads it again (three of the five up-switches of one DYNAMIC session on the Puffer
 * trace in bench:abr's switch log, ABR_DUMP). The packagers' answer (version 1 `trun` boxes,
 * whose composition offsets are signed, so that each fragment's earliest presentation time is its
 * baseMediaDecodeTime and no edit list is needed; Unified Streaming, "I'm not offset, you're
 * offset") is what this module makes of ffmpeg's output: every composition
 * offset is lowered by the delay (trun version 1, so the B-frames shown before their decode time
 * get negative offsets), each `sidx` earliest_presentation_time (§8.16.3) by the same time, and
 * the init segment's edit list is dropped (its `edts` box becomes a `free` box of the same size,
 * §8.1.2: sizes and byte ranges stay, so I-frame playlists' byte ranges and encryption do too).
 * Pure functions on bytes.
 */
import { boxes, child } from './fmp4-boxes.js';

/**
 * The composition offset of the first sample of the first track run of the first fragment of
 * `segment`, in the track's timescale: the presentation delay ffmpeg gave the rendition (0
 * without B-frames, or when already removed).
 * @throws RangeError when the segment has no moof/traf/trun.
 */
export function firstCompositionOffset(segment: Buffer): number {
  const moof = boxes(segment, 0, segment.length).find((b) => b.type === 'moof');
  const traf = moof && child(segment, moof, 'traf');
  const trun = traf && child(segment, traf, 'trun');
  if (!trun) throw new RangeError('segment has no moof/traf/trun');
  const flags = segment.readUInt32BE(trun.payload) & 0xffffff;
  if (!(flags & 0x800) || segment.readUInt32BE(trun.payload + 4) === 0) return 0;
  let p = trun.payload + 8;
  if (flags & 0x1) p += 4;
  if (flags & 0x4) p += 4;
  if (flags & 0x100) p += 4;
  if (flags & 0x200) p += 4;
  if (flags & 0x400) p += 4;
  return segment.readUInt8(trun.payload) === 0 ? segment.readUInt32BE(p) : segment.readInt32BE(p);
}

/**
 * A copy of `segment` whose video presentation starts `delay` ticks earlier: every trun's
 * composition offsets lowered by `delay` (the trun becomes version 1, signed) and every sidx's
 * earliest_presentation_time too. Decode times (`tfdt`), sizes and sample data are unchanged.
 * @throws RangeError when `delay` is negative, or an offset or a sidx time would go below what its
 *         field holds.
 */
export function advancePresentation(segment: Buffer, delay: number): Buffer {
  if (!(delay >= 0) || !Number.isInteger(delay)) throw new RangeError(`delay ${delay} must be a non-negative whole number of ticks`);
  const out = Buffer.from(segment);
  if (delay === 0) return out;
  for (const top of boxes(out, 0, out.length)) {
    if (top.type === 'sidx') {
      const version = out.readUInt8(top.payload);
      const at = top.payload + 12; // version+flags, reference_ID, timescale
      if (version === 0) {
        const t = out.readUInt32BE(at) - delay;
        if (t < 0) throw new RangeError('a sidx earliest_presentation_time would go below zero');
        out.writeUInt32BE(t, at);
      } else {
        const t = out.readBigUInt64BE(at) - BigInt(delay);
        if (t < 0n) throw new RangeError('a sidx earliest_presentation_time would go below zero');
        out.writeBigUInt64BE(t, at);
      }
    }
    if (top.type !== 'moof') continue;
    for (const traf of boxes(out, top.payload, top.end).filter((b) => b.type === 'traf')) {
      for (const trun of boxes(out, traf.payload, traf.end).filter((b) => b.type === 'trun')) {
        const flags = out.readUInt32BE(trun.payload) & 0xffffff;
        if (!(flags & 0x800)) continue;
        const signed = out.readUInt8(trun.payload) !== 0;
        const count = out.readUInt32BE(trun.payload + 4);
        let p = trun.payload + 8;
        if (flags & 0x1) p += 4;
        if (flags & 0x4) p += 4;
        const perSample = 4 * [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length;
        const ctoAt = 4 * [0x100, 0x200, 0x400].filter((f) => flags & f).length;
        for (let i = 0; i < count; i++, p += perSample) {
          const cto = (signed ? out.readInt32BE(p + ctoAt) : out.readUInt32BE(p + ctoAt)) - delay;
          if (cto < -0x80000000) throw new RangeError('a composition offset would not fit a signed 32-bit field');
          out.writeInt32BE(cto, p + ctoAt);
        }
        if (p > trun.end) throw new RangeError('a trun is shorter than its samples');
        out.writeUInt8(1, trun.payload);
      }
    }
  }
  return out;
}

/**
 * A copy of an init segment without its edit lists: each `edts` box (trak → edts) renamed to a
 * `free` box of the same size. Unchanged when there is none.
 */
export function dropEditLists(init: Buffer): Buffer {
  const out = Buffer.from(init);
  const moov = boxes(out, 0, out.length).find((b) => b.type === 'moov');
  if (!moov) return out;
  for (const trak of boxes(out, moov.payload, moov.end).filter((b) => b.type === 'trak')) {
    const edts = child(out, trak, 'edts');
    if (edts) out.write('free', edts.start + 4, 'latin1');
  }
  return out;
}

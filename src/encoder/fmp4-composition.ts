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
import { boxes, child, trackFragmentRuns, type TrackRun } from './fmp4-boxes.js';

/** A sample's composition offset at `at` in a run: unsigned in a version 0 trun, signed in version 1 (§8.8.8). */
const readCompositionOffset = (buf: Buffer, run: TrackRun, at: number): number => (buf.readUInt8(run.trun.payload) === 0 ? buf.readUInt32BE(at) : buf.readInt32BE(at));

/**
 * The composition offset of the first sample of the first track run of the first fragment of
 * `segment`, in the track's timescale: the presentation delay ffmpeg gave the rendition (0
 * without B-frames, or when already removed).
 * @throws RangeError when the segment has no moof/traf, or from trackFragmentRuns.
 */
export function firstCompositionOffset(segment: Buffer): number {
  const moof = boxes(segment, 0, segment.length).find((b) => b.type === 'moof');
  const traf = moof && child(segment, moof, 'traf');
  if (!moof || !traf) throw new RangeError('segment has no moof/traf');
  const run = trackFragmentRuns(segment, moof, traf).runs[0];
  const at = run?.samples[0]?.compositionOffsetAt;
  return run && at !== undefined ? readCompositionOffset(segment, run, at) : 0;
}

/**
 * A copy of `segment` whose video presentation starts `delay` ticks earlier: every trun's
 * composition offsets lowered by `delay` (the trun becomes version 1, signed) and every sidx's
 * earliest_presentation_time too. Decode times (`tfdt`), sizes and sample data are unchanged.
 * @throws RangeError when `delay` is negative, an offset or a sidx time would go below what its
 *         field holds, or from trackFragmentRuns.
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
      for (const run of trackFragmentRuns(out, top, traf).runs) {
        const fields = run.samples.flatMap((x) => (x.compositionOffsetAt === undefined ? [] : [x.compositionOffsetAt]));
        if (fields.length === 0) continue;
        // Read every offset before the version byte changes how they read.
        const lowered = fields.map((at) => readCompositionOffset(out, run, at) - delay);
        if (lowered.some((c) => c < -0x80000000)) throw new RangeError('a composition offset would not fit a signed 32-bit field');
        fields.forEach((at, i) => out.writeInt32BE(lowered[i]!, at));
        out.writeUInt8(1, run.trun.payload);
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

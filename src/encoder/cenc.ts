/**
 * Common Encryption of fragmented MP4 (ISO/IEC 23001-7, the `cenc` scheme: AES-128 in counter
 * mode), the packaging that EME key systems (W3C Clear Key, Widevine, PlayReady) decrypt. The
 * bundled ffmpeg cannot write it into fragments (its mov muxer puts the per-sample IVs in the
 * empty `stbl` of the init segment, none in any `traf`, and writes no `pssh`), so this module
 * rewrites ffmpeg's clear CMAF output:
 *
 * - **init segment**: each track's sample entry becomes `encv`/`enca` with a protection scheme
 *   info box `sinf` = `frma` (the original format) + `schm` (`cenc`, version 1.0) + `schi` >
 *   `tenc` (§8.2: protected, 8-byte per-sample IVs, the default key id); the `moov` gets a
 *   `pssh` (§8.1, version 1) of the W3C common system id listing the key id, which is what a
 *   browser hands to the page in its `encrypted` event (EME "cenc" initialization data);
 * - **media segments**: every sample of every fragment is encrypted with AES-128-CTR under a
 *   random 8-byte IV (the counter block is IV ‖ 0^64, §9.1 / §9.5.1): audio samples whole;
 *   video samples by subsample (§9.5.2.3–9.5.2.4: each NAL unit's length field and header
 *   stay clear — all of a non-VCL NAL unit (SPS, PPS, SEI, AUD) — and the protected bytes of
 *   each VCL NAL unit are a whole number of 16-byte blocks, the rest clear before them, as
 *   Shaka Packager and Bento4 lay them out); the IVs and subsample maps go into a `senc` box
 *   (§7.2) in each `traf`, located by `saiz`/`saio` (ISO/IEC 14496-12 §8.7.8–8.7.9); each
 *   `trun` data_offset, each `moof`/`traf` size and each `sidx` referenced_size grow by the
 *   bytes added. Samples keep their length (CTR mode), so durations and timestamps are
 *   untouched.
 *
 * One key per title (a real DRM service would use one per track type; Clear Key hands them all
 * to the page anyway).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { boxes, child, trackFragmentRuns, type Box } from './fmp4-boxes.js';

/** Bytes of each sample's IV (§9.1 allows 8 or 16; 8 is what `cenc` packagers write). */
export const CENC_IV_BYTES = 8;
/** Key and key id length, bytes (AES-128; §8.2 default_KID). */
export const CENC_KEY_BYTES = 16;
/**
 * System id of the common `pssh` box, which lists key ids for any key system: W3C EME
 * Initialization Data Format Registry, "cenc" format, 1077efec-c0b2-4d02-ace3-3c1e52e2fb4b.
 */
export const COMMON_PSSH_SYSTEM_ID = Buffer.from('1077efecc0b24d02ace33c1e52e2fb4b', 'hex');
/** AES block length, bytes: the protected bytes of a video subsample are a multiple of it. */
const AES_BLOCK = 16;
/** Largest BytesOfClearData of one subsample entry (16-bit field, §7.2.1). */
const MAX_CLEAR_BYTES = 0xffff;

/** What the encryptor needs to know of a track, read from its init segment. */
export interface CencTrack {
  /** 'video' samples are encrypted by subsample (NAL units), 'audio' ones whole. */
  readonly kind: 'video' | 'audio';
  /** NAL unit syntax of a video track: the header length and which unit types are VCL. */
  readonly nal?: { readonly codec: 'avc' | 'hevc'; readonly lengthSize: 1 | 2 | 4 };
}

const box = (type: string, ...payload: Buffer[]): Buffer => {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
};
const fullBox = (type: string, version: number, flags: number, ...payload: Buffer[]): Buffer => {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...payload);
};
const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};

/**
 * Returns `buf` with `insert` at offset `at`, and the 32-bit size of every box in `ancestors`
 * (each of which starts before `at` and contains it) raised by the inserted length.
 * @throws RangeError for an ancestor with a 64-bit or to-the-end size.
 */
function insertInto(buf: Buffer, at: number, insert: Buffer, ancestors: readonly Box[]): Buffer {
  const out = Buffer.concat([buf.subarray(0, at), insert, buf.subarray(at)]);
  for (const a of ancestors) {
    const size = out.readUInt32BE(a.start);
    if (size < 8) throw new RangeError(`cannot grow the '${a.type}' box (64-bit or open-ended size)`);
    out.writeUInt32BE(size + insert.length, a.start);
  }
  return out;
}

/** The path moov > trak[i] > mdia > minf > stbl > stsd > first sample entry, or undefined past the last trak. */
function sampleEntryPath(init: Buffer, trackIndex: number): { chain: Box[]; handler: string; entry: Box } | undefined {
  const moov = boxes(init, 0, init.length).find((b) => b.type === 'moov');
  if (!moov) throw new RangeError('init segment has no moov box');
  const trak = boxes(init, moov.payload, moov.end).filter((b) => b.type === 'trak')[trackIndex];
  if (!trak) return undefined;
  const mdia = child(init, trak, 'mdia');
  const hdlr = mdia && child(init, mdia, 'hdlr');
  const minf = mdia && child(init, mdia, 'minf');
  const stbl = minf && child(init, minf, 'stbl');
  const stsd = stbl && child(init, stbl, 'stsd');
  const entry = stsd && boxes(init, stsd.payload + 8, stsd.end)[0]; // version+flags, entry_count
  if (!mdia || !hdlr || !minf || !stbl || !stsd || !entry) throw new RangeError(`track ${trackIndex + 1} has no sample description`);
  return { chain: [moov, trak, mdia, minf, stbl, stsd, entry], handler: init.toString('latin1', hdlr.payload + 8, hdlr.payload + 12), entry };
}

/** Bytes of a sample entry's fixed fields before its child boxes (§12.1.3 visual: 78, §12.2.3 audio: 28). */
const entryFieldsBytes = (handler: string) => (handler === 'vide' ? 78 : 28);

/**
 * The protection-relevant facts of a clear init segment's (only) track: its handler, and for
 * AVC (`avc1`/`avc3`) or HEVC (`hvc1`/`hev1`) video the NAL length size from `avcC`/`hvcC`.
 * @throws RangeError for an init segment without a track, with several, already protected, or
 *         with video in a codec whose NAL syntax this module does not know.
 */
export function cencTrackOf(init: Buffer): CencTrack {
  const found = sampleEntryPath(init, 0);
  if (!found) throw new RangeError('init segment has no track');
  if (sampleEntryPath(init, 1)) throw new RangeError('init segment has more than one track (CMAF has one per file)');
  const { handler, entry } = found;
  if (entry.type === 'encv' || entry.type === 'enca') throw new RangeError('init segment is already protected');
  if (handler === 'soun') return { kind: 'audio' };
  if (handler !== 'vide') throw new RangeError(`cannot protect a '${handler}' track`);
  const codec = entry.type === 'avc1' || entry.type === 'avc3' ? 'avc' : entry.type === 'hvc1' || entry.type === 'hev1' ? 'hevc' : undefined;
  if (!codec) throw new RangeError(`cannot protect '${entry.type}' video: only AVC and HEVC NAL units are laid out in subsamples`);
  const config = child(init, { ...entry, payload: entry.payload + entryFieldsBytes(handler) }, codec === 'avc' ? 'avcC' : 'hvcC');
  if (!config) throw new RangeError(`'${entry.type}' sample entry has no ${codec === 'avc' ? 'avcC' : 'hvcC'}`);
  // avcC: lengthSizeMinusOne in the low 2 bits of byte 4 (ISO/IEC 14496-15 §5.3.3.1); hvcC: of byte 21 (§8.3.3.1).
  const lengthSize = (init.readUInt8(config.payload + (codec === 'avc' ? 4 : 21)) & 0x3) + 1;
  if (lengthSize === 3) throw new RangeError('a NAL length size of 3 bytes is not allowed');
  return { kind: 'video', nal: { codec, lengthSize: lengthSize as 1 | 2 | 4 } };
}

/**
 * Returns a protected copy of a clear init segment (see the module comment): `encv`/`enca` +
 * `sinf` in every track's sample entry, a common-system `pssh` v1 listing `keyId` in the `moov`.
 * @param keyId 16 bytes (§8.2 default_KID).
 * @throws RangeError for a key id of another length or an init segment already protected.
 */
export function protectInitSegment(init: Buffer, keyId: Buffer): Buffer {
  if (keyId.length !== CENC_KEY_BYTES) throw new RangeError(`a key id is ${CENC_KEY_BYTES} bytes`);
  let out: Buffer = Buffer.from(init);
  for (let i = 0; ; i++) {
    const found = sampleEntryPath(out, i);
    if (!found) break;
    const { chain, handler, entry } = found;
    if (entry.type === 'encv' || entry.type === 'enca') throw new RangeError('init segment is already protected');
    const sinf = box(
      'sinf',
      box('frma', Buffer.from(entry.type, 'latin1')),
      fullBox('schm', 0, 0, Buffer.from('cenc', 'latin1'), u32(0x00010000)),
      // tenc v0: reserved(8) reserved(8) default_isProtected(8) default_Per_Sample_IV_Size(8) default_KID(128)
      box('schi', fullBox('tenc', 0, 0, u8(0), u8(0), u8(1), u8(CENC_IV_BYTES), keyId)),
    );
    out.write(handler === 'vide' ? 'encv' : 'enca', entry.start + 4, 'latin1');
    out = insertInto(out, entry.end, sinf, chain);
  }
  const moov = boxes(out, 0, out.length).find((b) => b.type === 'moov')!;
  const pssh = fullBox('pssh', 1, 0, COMMON_PSSH_SYSTEM_ID, u32(1), keyId, u32(0));
  return insertInto(out, moov.end, pssh, [moov]);
}

/** One subsample: clear bytes, then protected bytes (§7.2.1). */
interface Subsample {
  clear: number;
  protected: number;
}

/** True for a NAL unit type that carries slice data (AVC 1–5, ITU-T H.264 Table 7-1; HEVC 0–31, H.265 Table 7-1). */
const isVcl = (codec: 'avc' | 'hevc', firstByte: number) => (codec === 'avc' ? [1, 2, 3, 4, 5].includes(firstByte & 0x1f) : ((firstByte >> 1) & 0x3f) < 32);

/**
 * The subsample map of one video sample (see the module comment): a sequence of clear/protected
 * byte counts covering the whole sample.
 * @throws RangeError when the NAL length fields do not add up to the sample.
 */
export function videoSubsamples(sample: Buffer, nal: NonNullable<CencTrack['nal']>): Subsample[] {
  const headerBytes = nal.codec === 'avc' ? 1 : 2;
  const out: Subsample[] = [];
  let clear = 0;
  for (let at = 0; at < sample.length; ) {
    if (at + nal.lengthSize > sample.length) throw new RangeError('a NAL length field runs past the sample');
    const size = sample.readUIntBE(at, nal.lengthSize);
    const end = at + nal.lengthSize + size;
    if (end > sample.length || size === 0) throw new RangeError('NAL unit lengths do not add up to the sample');
    const payload = size - headerBytes;
    const protectedBytes = isVcl(nal.codec, sample.readUInt8(at + nal.lengthSize)) && payload >= AES_BLOCK ? payload - (payload % AES_BLOCK) : 0;
    clear += end - at - protectedBytes;
    if (protectedBytes > 0) {
      for (; clear > MAX_CLEAR_BYTES; clear -= MAX_CLEAR_BYTES) out.push({ clear: MAX_CLEAR_BYTES, protected: 0 });
      out.push({ clear, protected: protectedBytes });
      clear = 0;
    }
    at = end;
  }
  for (; clear > MAX_CLEAR_BYTES; clear -= MAX_CLEAR_BYTES) out.push({ clear: MAX_CLEAR_BYTES, protected: 0 });
  if (clear > 0 || out.length === 0) out.push({ clear, protected: 0 });
  return out;
}

/**
 * Encrypts (or decrypts: CTR is its own inverse) one sample in place: the protected ranges of
 * its subsamples (or all of it) concatenated form one AES-128-CTR stream from the counter block
 * IV ‖ 0^64 (§9.5.1: "the block counter continues across subsamples").
 */
export function cryptSampleCenc(buf: Buffer, offset: number, size: number, key: Buffer, iv: Buffer, subsamples: readonly Subsample[] | undefined): void {
  const counter = Buffer.alloc(16);
  iv.copy(counter, 0);
  const ctr = createCipheriv('aes-128-ctr', key, counter);
  const ranges = subsamples ?? [{ clear: 0, protected: size }];
  let at = offset;
  for (const s of ranges) {
    at += s.clear;
    if (s.protected > 0) ctr.update(buf.subarray(at, at + s.protected)).copy(buf, at);
    at += s.protected;
  }
  if (at !== offset + size) throw new RangeError('subsamples do not cover the sample');
}

/**
 * Returns an encrypted copy of a clear CMAF media segment (styp? sidx* (moof mdat)+), with the
 * `senc`/`saiz`/`saio` boxes added to each track fragment (see the module comment).
 * @param key 16-byte content key. @param track from cencTrackOf(the rendition's init segment).
 * @param ivs source of per-sample IVs (default: the CSPRNG; tests pass fixed ones).
 * @throws RangeError for a malformed segment, one with an explicit tfhd base_data_offset, or a
 *         sample whose auxiliary information would not fit saiz's 8-bit size.
 */
export function encryptSegmentCenc(segment: Buffer, key: Buffer, track: CencTrack, ivs: () => Buffer = () => randomBytes(CENC_IV_BYTES)): Buffer {
  if (key.length !== CENC_KEY_BYTES) throw new RangeError(`a content key is ${CENC_KEY_BYTES} bytes`);
  let out: Buffer = Buffer.from(segment);
  const top = boxes(out, 0, out.length);
  const growth = new Map<number, number>(); // original moof start → bytes added
  // Last fragment first, so the offsets of the earlier ones stay valid.
  for (const moof of top.filter((b) => b.type === 'moof').reverse()) {
    const trafs = boxes(out, moof.payload, moof.end).filter((b) => b.type === 'traf');
    if (trafs.length !== 1) throw new RangeError(`a fragment with ${trafs.length} track fragments (CMAF has one track per file)`);
    const traf = trafs[0]!;
    const { hasBaseDataOffset, runs } = trackFragmentRuns(out, moof, traf);
    if (hasBaseDataOffset) throw new RangeError('cannot protect a fragment with an explicit base_data_offset');
    const entries: Buffer[] = [];
    for (const sample of runs.flatMap((r) => r.samples)) {
      const iv = ivs();
      if (iv.length !== CENC_IV_BYTES) throw new RangeError(`a per-sample IV is ${CENC_IV_BYTES} bytes`);
      const subs = track.kind === 'video' ? videoSubsamples(out.subarray(sample.offset, sample.offset + sample.sizeBytes), track.nal!) : undefined;
      cryptSampleCenc(out, sample.offset, sample.sizeBytes, key, iv, subs);
      entries.push(subs ? Buffer.concat([iv, u16(subs.length), ...subs.flatMap((s) => [u16(s.clear), u32(s.protected)])]) : iv);
    }
    const infoSizes = entries.map((e) => e.length);
    if (infoSizes.some((n) => n > 0xff)) throw new RangeError('a sample has too many subsamples for saiz');
    const uniform = infoSizes.every((n) => n === infoSizes[0]);
    const saiz = fullBox('saiz', 0, 0, u8(uniform ? (infoSizes[0] ?? 0) : 0), u32(entries.length), ...(uniform ? [] : infoSizes.map(u8)));
    const saioLength = 8 + 4 + 4 + 4; // header, version+flags, entry_count, one 32-bit offset
    // saio points at the first IV in senc, relative to the moof (default-base-is-moof, §8.8.7.1).
    const sencDataAt = traf.end + saiz.length + saioLength + 8 + 4 + 4 - moof.start;
    const saio = fullBox('saio', 0, 0, u32(1), u32(sencDataAt));
    const senc = fullBox('senc', 0, track.kind === 'video' ? 0x2 : 0, u32(entries.length), ...entries);
    const insert = Buffer.concat([saiz, saio, senc]);
    out = insertInto(out, traf.end, insert, [moof, traf]);
    // The mdat moved later by what the moof gained; data offsets count from the moof.
    for (const r of runs) out.writeInt32BE(out.readInt32BE(r.dataOffsetAt) + insert.length, r.dataOffsetAt);
    growth.set(moof.start, insert.length);
  }
  fixSegmentIndexes(out, growth);
  return out;
}

/** Raises each `sidx` referenced_size (§8.16.3) by the bytes added to the fragments it covers. */
function fixSegmentIndexes(out: Buffer, growth: ReadonlyMap<number, number>): void {
  for (const sidx of boxes(out, 0, out.length).filter((b) => b.type === 'sidx')) {
    const wide = out.readUInt8(sidx.payload) === 1;
    let p = sidx.payload + 12 + (wide ? 16 : 8); // version+flags, reference_ID, timescale, earliest_presentation_time, first_offset
    let refStart = sidx.end + (wide ? Number(out.readBigUInt64BE(p - 8)) : out.readUInt32BE(p - 4));
    const count = out.readUInt16BE(p + 2);
    p += 4; // reserved, reference_count
    for (let i = 0; i < count; i++, p += 12) {
      const word = out.readUInt32BE(p);
      const size = word & 0x7fffffff;
      let extra = 0;
      for (const [start, n] of growth) if (start >= refStart && start < refStart + size) extra += n;
      out.writeUInt32BE((word & 0x80000000) | (size + extra), p);
      refStart += size; // original layout: growth keys are original offsets
    }
  }
}

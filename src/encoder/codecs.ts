/**
 * RFC 6381 codec strings for the multivariant playlist's CODECS attribute, read from the
 * renditions' real init segments rather than assumed.
 */

/**
 * Reads the `avcC` box (ISO/IEC 14496-15 §5.3.3.1, AVCDecoderConfigurationRecord) of an
 * fMP4 init segment and returns `avc1.PPCCLL` (RFC 6381 §3.3: profile_idc,
 * constraint flags and level_idc as hex).
 * @param init bytes of an init segment (ftyp + moov).
 * @throws Error when the init segment has no avcC box.
 */
export function avcCodecString(init: Uint8Array): string {
  const at = Buffer.from(init.buffer, init.byteOffset, init.byteLength).indexOf('avcC', 0, 'latin1');
  if (at < 0 || at + 8 > init.length) throw new Error('init segment has no avcC box (not H.264?)');
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  // avcC payload: configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication.
  return `avc1.${hex(init[at + 5]!)}${hex(init[at + 6]!)}${hex(init[at + 7]!)}`;
}

/**
 * Reads the `hvcC` box (ISO/IEC 14496-15 §8.3.3.1, HEVCDecoderConfigurationRecord) of an fMP4
 * init segment and returns the codec string of ISO/IEC 14496-15 Annex E.3 (RFC 6381 §3.3 for
 * HEVC): `hvc1.<profile space A–C or none><general_profile_idc>.<general_profile_compatibility_flags
 * bit-reversed, hex>.<L|H tier><general_level_idc>[.<constraint byte hex>…]`, trailing zero
 * constraint bytes left out — e.g. `hvc1.1.6.L93.B0` for Main at level 3.1.
 * @throws Error when the init segment has no hvcC box.
 */
export function hevcCodecString(init: Uint8Array): string {
  const buf = Buffer.from(init.buffer, init.byteOffset, init.byteLength);
  const at = buf.indexOf('hvcC', 0, 'latin1');
  if (at < 0 || at + 4 + 13 > buf.length) throw new Error('init segment has no hvcC box (not HEVC?)');
  const p = at + 4; // the record: configurationVersion, then profile_space(2) tier(1) profile_idc(5)
  const b1 = buf.readUInt8(p + 1);
  const space = ['', 'A', 'B', 'C'][b1 >> 6]!;
  const tier = b1 & 0x20 ? 'H' : 'L';
  const profile = b1 & 0x1f;
  let compat = buf.readUInt32BE(p + 2);
  let reversed = 0;
  for (let i = 0; i < 32; i++, compat >>>= 1) reversed = (reversed * 2) + (compat & 1);
  const constraints = [...buf.subarray(p + 6, p + 12)];
  while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
  const level = buf.readUInt8(p + 12);
  return [`hvc1.${space}${profile}`, reversed.toString(16).toUpperCase(), `${tier}${level}`, ...constraints.map((c) => c.toString(16).toUpperCase())].join('.');
}

/**
 * Codec string of a video rendition from its init segment: HEVC when it has an `hvcC` box
 * (hevcCodecString), else H.264 (avcCodecString).
 * @throws Error when it has neither.
 */
export function videoCodecString(init: Uint8Array): string {
  return Buffer.from(init.buffer, init.byteOffset, init.byteLength).indexOf('hvcC', 0, 'latin1') >= 0 ? hevcCodecString(init) : avcCodecString(init);
}

/**
 * Codec string of an AAC rendition, from its init segment's AudioSpecificConfig object type
 * (ISO/IEC 14496-3 §1.6.2.1; RFC 6381 §3.3 `mp4a.40.<audioObjectType>`).
 * Falls back to AAC-LC (`mp4a.40.2`), what ffmpeg's native aac encoder writes by default.
 */
export function aacCodecString(init: Uint8Array): string {
  const buf = Buffer.from(init.buffer, init.byteOffset, init.byteLength);
  const esds = buf.indexOf('esds', 0, 'latin1');
  if (esds < 0) return 'mp4a.40.2';
  let pos = esds + 8; // skip the box type and the full-box version/flags
  // Reads a descriptor header (ISO/IEC 14496-1 §7.2.2.1: tag, then an expandable size).
  const header = (): number => {
    const tag = buf[pos++] ?? 0;
    while (pos < buf.length && (buf[pos++]! & 0x80) !== 0);
    return tag;
  };
  if (header() !== 0x03) return 'mp4a.40.2'; // ES_Descriptor
  const flags = buf[pos + 2] ?? 0;
  pos += 3; // ES_ID, flags
  if (flags & 0x80) pos += 2; // dependsOn_ES_ID
  if (flags & 0x40) pos += 1 + (buf[pos] ?? 0); // URL
  if (flags & 0x20) pos += 2; // OCR_ES_Id
  if (header() !== 0x04) return 'mp4a.40.2'; // DecoderConfigDescriptor
  pos += 13; // objectTypeIndication, streamType, bufferSizeDB, maxBitrate, avgBitrate
  if (header() !== 0x05) return 'mp4a.40.2'; // DecoderSpecificInfo = AudioSpecificConfig
  const audioObjectType = (buf[pos] ?? 0) >> 3;
  return audioObjectType > 0 && audioObjectType < 31 ? `mp4a.40.${audioObjectType}` : 'mp4a.40.2';
}

/**
 * Codec string of an audio rendition from its init segment: `ac-3` for AC-3 (a sample entry
 * carrying the `dac3` box, ETSI TS 102 366 Annex F; the string MP4RA registers and HLS players
 * match), `ec-3` for E-AC-3 (`dec3`), else the AAC string (aacCodecString).
 */
export function audioCodecString(init: Uint8Array): string {
  const buf = Buffer.from(init.buffer, init.byteOffset, init.byteLength);
  if (buf.indexOf('dac3', 0, 'latin1') >= 0) return 'ac-3';
  if (buf.indexOf('dec3', 0, 'latin1') >= 0) return 'ec-3';
  return aacCodecString(init);
}

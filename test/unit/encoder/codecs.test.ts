import { describe, expect, it } from 'vitest';
import { aacCodecString, avcCodecString, hevcCodecString, videoCodecString } from '../../../src/encoder/codecs.js';

/** A box: 32-bit size, 4-char type, payload. */
const box = (type: string, payload: Buffer) => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
};

describe('avcCodecString (RFC 6381 §3.3)', () => {
  it('reads profile, constraint flags and level from avcC', () => {
    // configurationVersion 1, High (100 = 0x64), constraints 0x00, level 3.1 (31 = 0x1f)
    const init = Buffer.concat([box('ftyp', Buffer.from('isom')), box('avcC', Buffer.from([1, 0x64, 0x00, 0x1f, 0xff]))]);
    expect(avcCodecString(init)).toBe('avc1.64001f');
  });

  it('throws without avcC', () => {
    expect(() => avcCodecString(box('ftyp', Buffer.from('isom')))).toThrow(/avcC/);
  });
});

describe('aacCodecString', () => {
  it('reads the audioObjectType from esds', () => {
    // esds: version/flags, ES_Descriptor(3) { ES_ID, flags, DecoderConfig(4) { 13 bytes, DecSpecificInfo(5) { AOT 2 = AAC-LC: 0x12 0x10 } } }
    const dsi = Buffer.from([0x05, 0x02, 0x12, 0x10]);
    const dcd = Buffer.concat([Buffer.from([0x04, 13 + dsi.length, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), dsi]);
    const esd = Buffer.concat([Buffer.from([0x03, 3 + dcd.length, 0x00, 0x01, 0x00]), dcd]);
    const esds = box('esds', Buffer.concat([Buffer.from([0, 0, 0, 0]), esd]));
    expect(aacCodecString(esds)).toBe('mp4a.40.2');
    const heAac = Buffer.from(esds);
    heAac[heAac.length - 2] = 5 << 3; // audioObjectType 5 = HE-AAC (SBR)
    expect(aacCodecString(heAac)).toBe('mp4a.40.5');
  });

  it('falls back to AAC-LC without esds', () => {
    expect(aacCodecString(Buffer.alloc(16))).toBe('mp4a.40.2');
  });
});

/** An init segment stand-in holding just an hvcC box's first 13 record bytes (enough for the codec string). */
function withHvcc(b1: number, compat: number, constraints: number[], level: number): Uint8Array {
  const record = Buffer.alloc(23);
  record.writeUInt8(1, 0);
  record.writeUInt8(b1, 1);
  record.writeUInt32BE(compat >>> 0, 2);
  Buffer.from(constraints).copy(record, 6);
  record.writeUInt8(level, 12);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + record.length, 0);
  head.write('hvcC', 4, 'latin1');
  return Buffer.concat([Buffer.from('....moov'), head, record]);
}

describe('hevcCodecString (ISO/IEC 14496-15 Annex E.3)', () => {
  it('writes profile, reversed compatibility flags, tier and level, and the non-zero constraint bytes', () => {
    // Main profile (compatible with Main and Main 10), Main tier, level 3.1, progressive source flag.
    expect(hevcCodecString(withHvcc(0x01, 0x60000000, [0xb0, 0, 0, 0, 0, 0], 93))).toBe('hvc1.1.6.L93.B0');
    // Main 10, High tier, level 5.1, profile space 1.
    expect(hevcCodecString(withHvcc(0x40 | 0x20 | 0x02, 0x20000000, [0x90, 0, 0x01, 0, 0, 0], 153))).toBe('hvc1.A2.4.H153.90.0.1');
    expect(videoCodecString(withHvcc(0x01, 0x60000000, [0xb0, 0, 0, 0, 0, 0], 60))).toBe('hvc1.1.6.L60.B0');
    expect(() => hevcCodecString(Buffer.from('no config here'))).toThrow(/hvcC/);
  });
});

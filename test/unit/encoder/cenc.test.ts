/**
 * Common Encryption's sample-level rules (encoder/cenc.ts) on hand-made AVC samples: which bytes
 * of a sample stay clear (NAL length fields and headers, whole non-VCL units, the part of a VCL
 * unit that is not a whole number of AES blocks), subsample entries split at the 16-bit clear
 * limit, and the CTR stream continuing across subsamples. The real-encode round trip through
 * ffmpeg's decryptor is in test/integration/encoder/cenc.test.ts.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cryptSampleCenc, videoSubsamples } from '../../../src/encoder/cenc.js';

const AVC = { codec: 'avc', lengthSize: 4 } as const;
/** One length-prefixed AVC NAL unit of `size` bytes whose header byte says `type`. */
const nal = (type: number, size: number) => {
  const b = randomBytes(4 + size);
  b.writeUInt32BE(size, 0);
  b.writeUInt8(type & 0x1f, 4);
  return b;
};

describe('subsample layout of AVC samples', () => {
  it('keeps SEI whole and the IDR slice header byte plus its partial block clear, protects whole blocks', () => {
    const sample = Buffer.concat([nal(6, 30), nal(5, 100)]);
    // SEI: 4 + 30 clear; IDR: 4 + 1 header + (99 mod 16 = 3) clear, 96 protected.
    expect(videoSubsamples(sample, AVC)).toEqual([{ clear: 42, protected: 96 }]);
  });

  it('leaves VCL units shorter than a block clear, ends with a clear-only entry when the sample does', () => {
    expect(videoSubsamples(Buffer.concat([nal(1, 10)]), AVC)).toEqual([{ clear: 14, protected: 0 }]);
    expect(videoSubsamples(Buffer.concat([nal(1, 33), nal(12, 5)]), AVC)).toEqual([
      { clear: 5, protected: 32 },
      { clear: 9, protected: 0 },
    ]);
  });

  it('splits clear runs longer than 65535 bytes into several entries', () => {
    const subs = videoSubsamples(Buffer.concat([nal(6, 70_000), nal(5, 17)]), AVC);
    expect(subs).toEqual([
      { clear: 65_535, protected: 0 },
      { clear: 70_004 + 5 - 65_535, protected: 16 },
    ]);
  });

  it('refuses a sample whose NAL lengths do not add up', () => {
    const bad = nal(5, 50);
    bad.writeUInt32BE(80, 0);
    expect(() => videoSubsamples(bad, AVC)).toThrow(RangeError);
    expect(() => videoSubsamples(Buffer.from([0, 0]), AVC)).toThrow(RangeError);
  });
});

describe('AES-CTR over subsamples', () => {
  it('encrypts only the protected ranges, as one counter stream from IV‖0, and decrypts back', () => {
    const key = randomBytes(16);
    const iv = randomBytes(8);
    const sample = Buffer.concat([nal(6, 20), nal(5, 70), nal(1, 50)]);
    const subs = videoSubsamples(sample, AVC);
    const buf = Buffer.from(sample);
    cryptSampleCenc(buf, 0, buf.length, key, iv, subs);
    // The same bytes through one CTR stream over the concatenated protected ranges.
    const ranges: [number, number][] = [];
    let at = 0;
    for (const s of subs) {
      at += s.clear;
      ranges.push([at, at + s.protected]);
      at += s.protected;
    }
    const stream = createCipheriv('aes-128-ctr', key, Buffer.concat([iv, Buffer.alloc(8)])).update(Buffer.concat(ranges.map(([a, b]) => sample.subarray(a, b))));
    expect(Buffer.concat(ranges.map(([a, b]) => buf.subarray(a, b)))).toEqual(stream);
    let clearAt = 0;
    for (const [a, b] of ranges) {
      expect(buf.subarray(clearAt, a)).toEqual(sample.subarray(clearAt, a));
      clearAt = b;
    }
    cryptSampleCenc(buf, 0, buf.length, key, iv, subs);
    expect(buf).toEqual(sample);
    expect(() => cryptSampleCenc(buf, 0, buf.length - 1, key, iv, subs)).toThrow(RangeError);
  });
});

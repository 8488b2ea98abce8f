import HLS from 'hls-parser';
import { describe, expect, it } from 'vitest';
import { segmentBitrates, writeMultivariantPlaylist } from '../../../src/encoder/hls-packager.js';

describe('segmentBitrates (RFC 8216 §4.3.4.2)', () => {
  it('averages all bytes over the total duration', () => {
    const r = segmentBitrates(
      [
        { durationS: 4, sizeBytes: 100_000 },
        { durationS: 4, sizeBytes: 300_000 },
        { durationS: 2, sizeBytes: 50_000 },
      ],
      4,
    );
    expect(r.averageBitrateBps).toBeCloseTo((450_000 * 8) / 10, 6);
  });

  it('takes the peak over contiguous sets lasting 0.5 to 1.5 target durations', () => {
    // Segments of 4 s: single segments qualify (4 in [2, 6]); pairs (8 s) do not.
    const r = segmentBitrates(
      [
        { durationS: 4, sizeBytes: 100_000 },
        { durationS: 4, sizeBytes: 300_000 },
        { durationS: 4, sizeBytes: 100_000 },
      ],
      4,
    );
    expect(r.peakBitrateBps).toBe((300_000 * 8) / 4);
  });

  it('lets short segments combine into a window', () => {
    // 1 s segments with target 4: sets of 2..6 segments qualify; one 1 s spike alone does not.
    const segs = [10, 10, 80, 10, 10, 10, 10, 10].map((kb) => ({ durationS: 1, sizeBytes: kb * 1000 }));
    const r = segmentBitrates(segs, 4);
    expect(r.peakBitrateBps).toBe(((80 + 10) * 1000 * 8) / 2);
  });

  it('falls back to the largest single segment for a title shorter than half a target', () => {
    expect(segmentBitrates([{ durationS: 1, sizeBytes: 1000 }], 4).peakBitrateBps).toBe(8000);
    expect(segmentBitrates([], 4)).toEqual({ peakBitrateBps: 0, averageBitrateBps: 0 });
  });
});

describe('writeMultivariantPlaylist', () => {
  const variants = [
    { uri: 'video_234p_145k/index.m3u8', bandwidthBps: 212_496.2, averageBandwidthBps: 196_852, width: 416, height: 234, frameRate: 24, codecs: ['avc1.64000d', 'mp4a.40.2'], audioGroupId: 'audio-aac' },
    { uri: 'video_360p_365k/index.m3u8', bandwidthBps: 418_601, averageBandwidthBps: 417_791, width: 640, height: 360, frameRate: 23.976, codecs: ['avc1.64001e', 'mp4a.40.2'], audioGroupId: 'audio-aac' },
  ];
  const audio = [{ groupId: 'audio-aac', name: 'Main', uri: 'audio_aac_128k/index.m3u8', channels: 2 }];

  it('writes a playlist hls-parser reads back with every attribute', () => {
    const text = writeMultivariantPlaylist(variants, audio);
    expect(text).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
    const parsed = HLS.parse(text);
    if (!parsed.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(parsed.independentSegments).toBe(true);
    expect(parsed.variants).toHaveLength(2);
    const [v0, v1] = parsed.variants;
    expect(v0!.bandwidth).toBe(212_497); // rounded up, never under-stated
    expect(v0!.averageBandwidth).toBe(196_852);
    expect(v0!.resolution).toEqual({ width: 416, height: 234 });
    expect(v0!.codecs).toBe('avc1.64000d,mp4a.40.2');
    expect(v1!.frameRate).toBeCloseTo(23.976, 3);
    expect(v0!.audio[0]!.uri).toBe('audio_aac_128k/index.m3u8');
    expect(v0!.audio[0]!.isDefault).toBe(true);
  });

  it('lists every audio track of a group with LANGUAGE and one DEFAULT=YES, the one marked so', () => {
    const tracks = [
      { ...audio[0]!, name: 'English', language: 'en' },
      { groupId: 'audio-aac', name: 'French', language: 'fr', uri: 'audio_aac_128k_2/index.m3u8', channels: 2, isDefault: true },
    ];
    const parsed = HLS.parse(writeMultivariantPlaylist(variants, tracks));
    if (!parsed.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    const renditions = parsed.variants[0]!.audio;
    expect(renditions.map((a) => [a.name, a.language, a.isDefault, a.autoselect])).toEqual([
      ['English', 'en', false, true],
      ['French', 'fr', true, true],
    ]);
  });

  it('lists subtitle renditions (TYPE=SUBTITLES, FORCED) and names their group in every variant', () => {
    const subtitles = [
      { groupId: 'subs', name: 'English', language: 'en', uri: 'subtitles_1/index.m3u8' },
      { groupId: 'subs', name: 'French', language: 'fr', uri: 'subtitles_2/index.m3u8', isForced: true },
    ];
    const text = writeMultivariantPlaylist(variants.map((v) => ({ ...v, subtitlesGroupId: 'subs' })), audio, undefined, [], subtitles);
    expect(text).toContain('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="French",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,URI="subtitles_2/index.m3u8"');
    const parsed = HLS.parse(text);
    if (!parsed.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    for (const v of parsed.variants) expect(v.subtitles.map((t) => [t.name, t.language, t.forced, t.isDefault])).toEqual([['English', 'en', false, false], ['French', 'fr', true, false]]);
    expect(() => writeMultivariantPlaylist([{ ...variants[0]!, subtitlesGroupId: 'none' }], audio)).toThrow(/undefined subtitles group/);
  });

  it('refuses a variant naming an undefined audio group', () => {
    expect(() => writeMultivariantPlaylist(variants, [])).toThrow(/undefined audio group/);
  });

  it('refuses quoted-string values with quotes', () => {
    expect(() => writeMultivariantPlaylist([], [{ ...audio[0]!, name: 'a"b' }])).toThrow(/quoted-string/);
  });
});

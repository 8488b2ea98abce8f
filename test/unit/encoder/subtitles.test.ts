import { describe, expect, it } from 'vitest';
import type { SubtitleStreamInfo } from '../../../src/encoder/media-info.js';
import { planSubtitleTracks, segmentBoundariesS, segmentWebVtt } from '../../../src/encoder/subtitles.js';

const stream = (subtitleIndex: number, extra: Partial<SubtitleStreamInfo> = {}): SubtitleStreamInfo => ({ codecName: 'subrip', subtitleIndex, isDefault: false, isForced: false, isText: true, ...extra });

describe('segmentBoundariesS', () => {
  it('cuts every segment duration from 0, the last segment shorter', () => {
    expect(segmentBoundariesS(10, 4)).toEqual([0, 4, 8, 10]);
    expect(segmentBoundariesS(8, 4)).toEqual([0, 4, 8]);
    expect(segmentBoundariesS(8.0004, 4)).toEqual([0, 4, 8.0004]); // under 1 ms left: no extra segment
    expect(segmentBoundariesS(3, 4)).toEqual([0, 3]);
    expect(() => segmentBoundariesS(3, 0)).toThrow(RangeError);
  });
});

describe('segmentWebVtt (RFC 8216 §3.5)', () => {
  const cues = [
    { start: 500, end: 1500, text: 'first' },
    { start: 3500, end: 4500, text: 'across the border', settings: 'align:start' },
    { start: 9000, end: 9500, text: 'last' },
  ];

  it('writes one WebVTT document per segment, a cue in every segment it overlaps, whole', () => {
    const docs = segmentWebVtt(cues, [0, 4, 8, 10]);
    expect(docs).toHaveLength(3);
    for (const d of docs) expect(d.startsWith('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n')).toBe(true);
    expect(docs[0]).toContain('00:00:00.500 --> 00:00:01.500\nfirst\n');
    expect(docs[0]).toContain('00:00:03.500 --> 00:00:04.500 align:start\nacross the border\n');
    expect(docs[1]).toContain('00:00:03.500 --> 00:00:04.500 align:start\nacross the border\n'); // repeated, not clipped
    expect(docs[1]).not.toContain('first');
    expect(docs[2]).toContain('00:00:09.000 --> 00:00:09.500\nlast\n');
    expect(docs[2]).not.toContain('across');
  });

  it('writes an empty segment (header only) where no cue falls, and the MPEGTS given', () => {
    const docs = segmentWebVtt([], [0, 4], 900);
    expect(docs).toEqual(['WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900,LOCAL:00:00:00.000\n']);
  });
});

describe('planSubtitleTracks', () => {
  it('keeps text streams only, named after the title tag or language, FORCED from the master, never DEFAULT', () => {
    const tracks = planSubtitleTracks([
      stream(0, { language: 'en' }),
      stream(1, { codecName: 'hdmv_pgs_subtitle', isText: false, language: 'de' }),
      stream(2, { language: 'fr', isForced: true, isDefault: true }),
      stream(3, { language: 'en', title: 'English SDH' }),
      stream(4, { language: 'en' }),
    ]);
    expect(tracks.map((t) => [t.name, 'subtitleIndex' in t.source ? t.source.subtitleIndex : -1, t.label, t.language, t.isDefault, t.isForced])).toEqual([
      ['subtitles_1', 0, 'English', 'en', false, false],
      ['subtitles_2', 2, 'French', 'fr', false, true], // marked default in the master: not shown unasked
      ['subtitles_3', 3, 'English SDH', 'en', false, false],
      ['subtitles_4', 4, 'English (2)', 'en', false, false],
    ]);
    expect(planSubtitleTracks([stream(0)]).map((t) => [t.label, t.isDefault])).toEqual([['Subtitles 1', false]]);
  });

  it('adds the side files given at upload after the master own streams, named after their language', () => {
    const tracks = planSubtitleTracks([stream(0, { language: 'it' })], [
      { key: 'masters/t/subtitles/1-a.srt', fileName: 'a.srt', language: 'it' },
      { key: 'masters/t/subtitles/2-b.vtt', fileName: 'b.vtt', language: 'pt-BR' },
    ]);
    expect(tracks.map((t) => [t.name, t.label, t.language, 'sideFile' in t.source ? t.source.sideFile.key : t.source.subtitleIndex])).toEqual([
      ['subtitles_1', 'Italian', 'it', 0],
      ['subtitles_2', 'Italian (2)', 'it', 'masters/t/subtitles/1-a.srt'],
      ['subtitles_3', 'Brazilian Portuguese', 'pt-BR', 'masters/t/subtitles/2-b.vtt'],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { languageTag, type AudioStreamInfo } from '../../../src/encoder/media-info.js';
import { AUDIO_RENDITION_NAME, audioGroups, planAudioTracks, SURROUND_RENDITION_NAME } from '../../../src/encoder/audio-tracks.js';
import type { AudioRenditionRecord } from '../../../src/origin/catalog.js';

const stream = (audioIndex: number, extra: Partial<AudioStreamInfo> = {}): AudioStreamInfo => ({ codecName: 'aac', channels: 2, sampleRateHz: 48_000, audioIndex, isDefault: false, ...extra });

describe('languageTag', () => {
  it('turns container ISO 639-2 tags (bibliographic or terminology) into RFC 5646 tags', () => {
    expect(['eng', 'fre', 'fra', 'ger', 'spa', 'pt-BR'].map(languageTag)).toEqual(['en', 'fr', 'fr', 'de', 'es', 'pt-BR']);
  });

  it('drops absent, undetermined and malformed tags', () => {
    expect([undefined, '', 'und', 'UND', 'x!1'].map(languageTag)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('planAudioTracks', () => {
  it('makes one AAC stereo rendition per stream, named after its title or language, in the master order', () => {
    const tracks = planAudioTracks([stream(0, { language: 'en' }), stream(1, { language: 'fr', title: 'Commentaire' }), stream(2, { sampleRateHz: 22_050 })]);
    expect(tracks.map((t) => [t.name, t.audioIndex, t.label, t.language, t.sampleRateHz])).toEqual([
      [AUDIO_RENDITION_NAME, 0, 'English', 'en', 48_000],
      [`${AUDIO_RENDITION_NAME}_2`, 1, 'Commentaire', 'fr', 48_000],
      [`${AUDIO_RENDITION_NAME}_3`, 2, 'Audio 3', undefined, 48_000],
    ]);
  });

  it('gives DEFAULT to the stream the master marks default, else the first; exactly one', () => {
    expect(planAudioTracks([stream(0), stream(1, { isDefault: true }), stream(2, { isDefault: true })]).map((t) => t.isDefault)).toEqual([false, true, false]);
    expect(planAudioTracks([stream(0), stream(1)]).map((t) => t.isDefault)).toEqual([true, false]);
  });

  it('keeps NAMEs unique within the group (RFC 8216 §4.3.4.1.1)', () => {
    expect(planAudioTracks([stream(0, { language: 'en' }), stream(1, { language: 'en' }), stream(2, { language: 'eng' as string })]).map((t) => t.label)).toEqual(['English', 'English (2)', 'English (3)']);
    expect(planAudioTracks([stream(0)]).map((t) => t.label)).toEqual(['Main']);
    expect(planAudioTracks([])).toEqual([]);
  });
});

describe('surround (AC-3 5.1) renditions and audio groups', () => {
  it('adds an AC-3 5.1 rendition for each stream of 6 channels or more, after every AAC one', () => {
    const tracks = planAudioTracks([stream(0, { language: 'en', channels: 6 }), stream(1, { language: 'fr' }), stream(2, { language: 'de', channels: 8, isDefault: true })]);
    expect(tracks.map((t) => [t.name, t.codec, t.channels, t.bitrateBps, t.label, t.isDefault])).toEqual([
      [AUDIO_RENDITION_NAME, 'aac', 2, 128_000, 'English', false],
      [`${AUDIO_RENDITION_NAME}_2`, 'aac', 2, 128_000, 'French', false],
      [`${AUDIO_RENDITION_NAME}_3`, 'aac', 2, 128_000, 'German', true],
      [SURROUND_RENDITION_NAME, 'ac3', 6, 384_000, 'English', false],
      [`${SURROUND_RENDITION_NAME}_3`, 'ac3', 6, 384_000, 'German', true],
    ]);
  });

  const record = (uri: string, audioIndex: number, codecs: string, peak: number, extra: Partial<AudioRenditionRecord> = {}): AudioRenditionRecord => ({
    kind: 'audio', uri, audioIndex, codecs, channels: codecs === 'ac-3' ? 6 : 2, sampleRateHz: 48_000, targetBitrateBps: peak, peakBitrateBps: peak, averageBitrateBps: peak * 0.9, segmentCount: 3, ...extra,
  });

  it('puts every language in both groups: AC-3 where there is one, else the AAC rendition again', () => {
    const groups = audioGroups([
      record('a_en/index.m3u8', 0, 'mp4a.40.2', 130_000, { name: 'English', language: 'en', isDefault: false }),
      record('a_fr/index.m3u8', 1, 'mp4a.40.2', 131_000, { name: 'French', language: 'fr', isDefault: true }),
      record('ac3_en/index.m3u8', 0, 'ac-3', 390_000, { name: 'English', language: 'en', isDefault: false }),
    ]);
    expect(groups.map((g) => [g.groupId, g.entries.map((e) => [e.uri, e.isDefault]), g.peakBitrateBps, g.codecs])).toEqual([
      ['audio-aac', [['a_en/index.m3u8', false], ['a_fr/index.m3u8', true]], 131_000, ['mp4a.40.2']],
      ['audio-ac3', [['ac3_en/index.m3u8', false], ['a_fr/index.m3u8', true]], 390_000, ['ac-3', 'mp4a.40.2']],
    ]);
    expect(audioGroups([])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { languageTag, type AudioStreamInfo } from '../../../src/encoder/media-info.js';
import { AUDIO_RENDITION_NAME, planAudioTracks } from '../../../src/encoder/title-stages.js';

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

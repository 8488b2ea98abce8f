/**
 * The encode plan a chunked title's flow stores for its workers (flow-store.ts storePlan /
 * loadPlan), on a filesystem object store: what is stored comes back, and a plan stored by the
 * previous version (one audio rendition as an object, or none) is read as a list of tracks, so a
 * flow started before an upgrade still completes.
 */
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { loadPlan, storePlan } from '../../../src/ingest/flow-store.js';
import type { EncodePlan } from '../../../src/encoder/title-stages.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const plan = (audio: unknown): EncodePlan =>
  ({
    titleId: '0123456789abcdef',
    masterPath: '/m.mp4',
    probe: { durationS: 10, formatName: 'mp4', sizeBytes: 1, video: undefined, audio: undefined, audioStreams: [], subtitleStreams: [] },
    ladderKind: 'fixed',
    frameRate: 24,
    segmentDurationS: 4,
    rungs: [],
    audio,
    analysis: undefined,
    chunks: [],
  }) as unknown as EncodePlan;

describe('stored encode plans', () => {
  it('reads back the audio tracks it stored', async () => {
    const store = new FsObjectStore(await makeTempDir());
    const tracks = [
      { name: 'audio_aac_128k', audioIndex: 0, bitrateBps: 128_000, sampleRateHz: 48_000, language: 'en', label: 'English', isDefault: false },
      { name: 'audio_aac_128k_2', audioIndex: 1, bitrateBps: 128_000, sampleRateHz: 48_000, language: 'fr', label: 'French', isDefault: true },
    ];
    await storePlan(store, plan(tracks));
    expect((await loadPlan(store, '0123456789abcdef')).audio).toEqual(tracks);
  });

  it("reads a previous version's single audio rendition (or none) as a list", async () => {
    const store = new FsObjectStore(await makeTempDir());
    await storePlan(store, plan({ name: 'audio_aac_128k', bitrateBps: 128_000, sampleRateHz: 44_100 }));
    expect((await loadPlan(store, '0123456789abcdef')).audio).toEqual([{ name: 'audio_aac_128k', bitrateBps: 128_000, sampleRateHz: 44_100, audioIndex: 0, label: 'Main', isDefault: true }]);
    expect((await loadPlan(store, '0123456789abcdef')).subtitles).toEqual([]); // it had none
    await storePlan(store, plan(undefined));
    expect((await loadPlan(store, '0123456789abcdef')).audio).toEqual([]);
  });
});

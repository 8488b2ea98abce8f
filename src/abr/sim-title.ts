/**
 * A published title as the ABR simulator sees it: the multivariant playlist's levels (their
 * AVERAGE-BANDWIDTH and BANDWIDTH, as hls.js reads them) and the real size of every segment of
 * every level, plus the audio segments fetched alongside (playlists parsed with hls-parser, sizes
 * from the object store).
 */
import HLS from 'hls-parser';
import type { ObjectStore } from '../origin/object-store.js';
import { MULTIVARIANT_PLAYLIST_NAME, titleObjectKey } from '../title/title-address.js';
import type { SimTitle } from './abr-sim.js';

/** Store key of a playlist-relative URI (`video_360p/index.m3u8` → `vod/<id>/video_360p/index.m3u8`). */
const keyOf = (titleId: string, base: string, uri: string): string => titleObjectKey(titleId, base ? `${base}/${uri}` : uri);

async function readPlaylist(store: ObjectStore, key: string): Promise<ReturnType<typeof HLS.parse>> {
  const bytes = await store.get(key);
  if (!bytes) throw new Error(`${key} is not in the store`);
  return HLS.parse(bytes.toString('utf8'));
}

/** Each segment's duration and size, bytes, of one media playlist. */
async function mediaSegments(store: ObjectStore, titleId: string, uri: string): Promise<{ durationsS: number[]; bytes: number[] }> {
  const playlist = await readPlaylist(store, keyOf(titleId, '', uri));
  if (playlist.isMasterPlaylist) throw new Error(`${uri} is not a media playlist`);
  const base = uri.includes('/') ? uri.slice(0, uri.lastIndexOf('/')) : '';
  const durationsS: number[] = [];
  const bytes: number[] = [];
  for (const s of playlist.segments) {
    const st = await store.stat(keyOf(titleId, base, s.uri));
    if (!st) throw new Error(`segment ${base}/${s.uri} of title ${titleId} is not in the store`);
    durationsS.push(s.duration);
    bytes.push(st.sizeBytes);
  }
  return { durationsS, bytes };
}

/**
 * Loads a published title's ladder and segment sizes.
 * @throws Error when the title, a playlist or a segment is missing, or levels differ in segment count.
 */
export async function loadSimTitle(store: ObjectStore, titleId: string): Promise<SimTitle> {
  const mv = await readPlaylist(store, titleObjectKey(titleId, MULTIVARIANT_PLAYLIST_NAME));
  if (!mv.isMasterPlaylist) throw new Error(`title ${titleId}: ${MULTIVARIANT_PLAYLIST_NAME} is not a multivariant playlist`);
  // I-frame streams (trick play) are not levels a player switches between.
  // Lowest first by what the rules decide on (average, else peak).
  const variants = mv.variants.filter((v) => !v.isIFrameOnly).sort((a, b) => (a.averageBandwidth ?? a.bandwidth) - (b.averageBandwidth ?? b.bandwidth));
  const levels: { peakBps: number; averageBps: number | undefined; durationsS: number[]; bytes: number[] }[] = [];
  for (const v of variants) levels.push({ peakBps: v.bandwidth, averageBps: v.averageBandwidth, ...(await mediaSegments(store, titleId, v.uri)) });
  const n = levels[0]?.durationsS.length ?? 0;
  if (levels.some((l) => l.durationsS.length !== n)) throw new Error(`title ${titleId}: its levels differ in segment count`);
  const audioUri = variants[0]?.audio.find((a) => a.uri)?.uri;
  const audio = audioUri ? (await mediaSegments(store, titleId, audioUri)).bytes : [];
  const audioBytes = Array.from({ length: n }, (_, i) => audio[Math.min(i, audio.length - 1)] ?? 0);
  const totalS = levels[0]?.durationsS.reduce((a, b) => a + b, 0) ?? 0;
  // Without AVERAGE-BANDWIDTH (RFC 8216 §4.3.4.2 makes it optional): the level's measured average.
  const averageOf = (l: (typeof levels)[number]) => l.averageBps ?? (8 * l.bytes.reduce((a, b, i) => a + b + audioBytes[i]!, 0)) / totalS;
  return {
    name: titleId,
    bitratesBps: levels.map(averageOf),
    peakBitratesBps: levels.map((l) => l.peakBps),
    segmentDurationsS: levels[0]?.durationsS ?? [],
    segmentBytes: levels.map((l) => l.bytes),
    audioSegmentBytes: audioBytes,
    levelUris: variants.map((v) => v.uri),
  };
}

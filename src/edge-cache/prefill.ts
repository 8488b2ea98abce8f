/**
 * Proactive fill: pull whole titles into an edge before viewers ask, the way Open Connect
 * appliances fill off-peak from the titles predicted to be popular. The titles come from the
 * edge's own request history (most requested since start) or the origin's catalog (newest
 * first). For each title the edge fills the multivariant playlist, every media and I-frame
 * playlist (parsed with hls-parser) and every init and media segment once, through its normal fill path.
 */
import HLS from 'hls-parser';
import { playbackPath } from '../title/title-address.js';

export interface PrefillTarget {
  /** Fills one path into the cache (or finds it there). @returns its bytes, or undefined on failure. */
  fillPath(path: string): Promise<Buffer | undefined>;
}

export interface PrefillResult {
  readonly titles: string[];
  readonly objects: number;
  readonly bytes: number;
  readonly failures: number;
}

/** Resolves a playlist-relative URI against the playlist's path (RFC 3986 §5.2). */
function resolvePath(base: string, uri: string): string {
  return new URL(uri, `http://edge${base}`).pathname;
}

/**
 * Prefills titles.
 * @param concurrency fills in flight at once. Default 4.
 */
export async function prefillTitles(target: PrefillTarget, titleIds: readonly string[], concurrency = 4): Promise<PrefillResult> {
  let objects = 0;
  let bytes = 0;
  let failures = 0;
  const fill = async (path: string) => {
    const body = await target.fillPath(path);
    if (body) {
      objects++;
      bytes += body.length;
    } else failures++;
    return body;
  };
  for (const titleId of titleIds) {
    const masterPath = playbackPath(titleId);
    const master = await fill(masterPath);
    if (!master) continue;
    const parsed = HLS.parse(master.toString('utf8'));
    if (!parsed.isMasterPlaylist) continue;
    const mediaPaths = new Set<string>();
    for (const v of parsed.variants) {
      mediaPaths.add(resolvePath(masterPath, v.uri));
      for (const r of [...v.audio, ...v.subtitles]) if (r.uri) mediaPaths.add(resolvePath(masterPath, r.uri));
    }
    // Ordered and without repeats: an I-frame playlist names its rendition's segments again.
    const objectsToFill = new Set<string>();
    const initsToFill = new Set<string>();
    for (const mediaPath of mediaPaths) {
      const media = await fill(mediaPath);
      if (!media) continue;
      const playlist = HLS.parse(media.toString('utf8'));
      if (playlist.isMasterPlaylist) continue;
      for (const seg of playlist.segments) {
        if (seg.map?.uri) initsToFill.add(resolvePath(mediaPath, seg.map.uri));
        objectsToFill.add(resolvePath(mediaPath, seg.uri));
      }
    }
    const queue = [...initsToFill, ...[...objectsToFill].filter((p) => !initsToFill.has(p))];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < queue.length) await fill(queue[next++]!);
      }),
    );
  }
  return { titles: [...titleIds], objects, bytes, failures };
}

/**
 * Title ids come from the master's content: the first 16 hex digits (64 bits) of its
 * SHA-256, so uploading the same bytes twice names the same title and is encoded once. A title
 * removed after it was published (`vod remove`) keeps its id retired: the same bytes uploaded
 * again get the next id of the chain (reissuedTitleId), so no URL ever serves two encodes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ObjectStore } from '../origin/object-store.js';
import { removedMarkerKey, TITLE_ID_HEX_DIGITS } from '../title/title-address.js';

/** Title id of bytes already in memory. */
export function titleIdFromBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, TITLE_ID_HEX_DIGITS);
}

/**
 * Title id of a file, hashed as a stream (constant memory for multi-GB masters).
 * @param onBytes called with the bytes hashed so far, for progress.
 * @throws the stream's error (ENOENT, EACCES, ...).
 */
export function titleIdFromFile(file: string, onBytes?: (bytesHashed: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let done = 0;
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => {
        hash.update(chunk);
        done += chunk.length;
        onBytes?.(done);
      })
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex').slice(0, TITLE_ID_HEX_DIGITS)));
  });
}

/**
 * The id a title takes after `titleId` was removed: the first 16 hex digits of the SHA-256 of
 * `<titleId>:reissued` (deterministic, so every upload of the same bytes finds the same one).
 */
export function reissuedTitleId(titleId: string): string {
  return createHash('sha256').update(`${titleId}:reissued`).digest('hex').slice(0, TITLE_ID_HEX_DIGITS);
}

/** Longest chain of removals followed (a guard against a store full of markers; never reached in use). */
const MAX_REISSUES = 1000;

/**
 * The id under which a master is stored and published now: its content id, or — when that title
 * was removed after being published (its `removed/<id>` marker exists) — the first id of its
 * reissue chain that was not. Segments are served `Cache-Control: immutable` for a year
 * (DESIGN.md, HLS conventions), so an encode published again under the old URLs could meet the
 * old bytes in any cache that was not purged.
 * @param contentId titleIdFromFile of the master.
 * @throws Error after MAX_REISSUES removals of the same master.
 */
export async function currentTitleId(store: ObjectStore, contentId: string): Promise<string> {
  let id = contentId;
  for (let n = 0; n < MAX_REISSUES; n++) {
    if (!(await store.exists(removedMarkerKey(id)))) return id;
    id = reissuedTitleId(id);
  }
  throw new Error(`title ${contentId} was removed and uploaded again ${MAX_REISSUES} times`);
}

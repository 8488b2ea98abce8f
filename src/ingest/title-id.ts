/**
 * Title ids come from the master's content: the first 16 hex digits (64 bits) of its
 * SHA-256, so uploading the same bytes twice names the same title and is encoded once.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { TITLE_ID_HEX_DIGITS } from '../title/title-address.js';

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

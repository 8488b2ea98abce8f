/**
 * HLS AES-128 segment encryption (RFC 8216 §5.2), a packaging step between measuring the
 * renditions and writing the multivariant playlist (title-stages.ts):
 *
 * - every media segment is encrypted whole with AES-128-CBC and PKCS#7 padding, under the
 *   content key of its key period (keys/content-keys.ts: rotation every N segments);
 * - every segment gets its own random 128-bit IV, written as the IV attribute of an
 *   `EXT-X-KEY` tag before it (§4.3.2.4), so no two segments share a key and IV;
 * - the key's URI is the key server's (`<keyServerUrl>/keys/<titleId>/<period>`); the key
 *   never appears in the title's folder;
 * - the init segment stays clear: its `EXT-X-MAP` comes before the first `EXT-X-KEY`, which
 *   §4.3.2.5 reads as "not encrypted" (it holds codec parameters, no media samples).
 *
 * BANDWIDTH and AVERAGE-BANDWIDTH are re-measured on the encrypted segments (padding adds 1–16
 * bytes each).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { contentKeyUrl, deriveContentKey, keyPeriodOf, type Protection } from '../keys/content-keys.js';
import { measureMediaPlaylist } from './hls-packager.js';
import type { MeasuredTitle } from './title-stages.js';

/** AES-128-CBC IV length, bytes. */
export const AES_128_IV_BYTES = 16;

/**
 * Encrypts one segment: AES-128-CBC with PKCS#7 padding (RFC 8216 §5.2; the padded length is
 * 16·(⌊n/16⌋+1) bytes).
 * @param key 16 bytes. @param iv 16 bytes.
 * @throws RangeError for a key or IV of another length.
 */
export function encryptSegmentAes128(clear: Buffer, key: Buffer, iv: Buffer): Buffer {
  if (key.length !== 16 || iv.length !== AES_128_IV_BYTES) throw new RangeError('AES-128 needs a 16-byte key and a 16-byte IV');
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([cipher.update(clear), cipher.final()]);
}

/**
 * Encrypts every segment of a media playlist on disk in place and rewrites the playlist with
 * the `EXT-X-KEY` tags (see the module comment).
 * @param keyFor the key and its URI for a key period.
 * @throws Error when the playlist is not a media playlist or a segment is missing.
 */
export async function encryptMediaPlaylistAes128(playlistPath: string, keyRotationSegments: number, keyFor: (period: number) => { key: Buffer; uri: string }): Promise<void> {
  const parsed = HLS.parse(await fs.readFile(playlistPath, 'utf8'));
  if (parsed.isMasterPlaylist) throw new Error(`${playlistPath} is not a media playlist`);
  const dir = path.dirname(playlistPath);
  for (const [i, seg] of parsed.segments.entries()) {
    const { key, uri } = keyFor(keyPeriodOf(i, keyRotationSegments));
    const iv = randomBytes(AES_128_IV_BYTES);
    const file = path.join(dir, seg.uri);
    await fs.writeFile(file, encryptSegmentAes128(await fs.readFile(file), key, iv));
    // hls-parser types `iv` as ArrayBuffer but reads it by index (utils.byteSequenceToHex): bytes it is.
    seg.key = new HLS.types.Key({ method: 'AES-128', uri, iv: new Uint8Array(iv) as unknown as ArrayBuffer });
  }
  await fs.writeFile(playlistPath, initBeforeFirstKey(HLS.stringify(parsed)));
}

/**
 * Moves the `EXT-X-MAP` line above the first `EXT-X-KEY` (hls-parser writes a segment's key
 * before its map), so the init segment is declared clear (RFC 8216 §4.3.2.5).
 */
function initBeforeFirstKey(text: string): string {
  const lines = text.trimEnd().split('\n');
  const key = lines.findIndex((l) => l.startsWith('#EXT-X-KEY:'));
  const map = lines.findIndex((l) => l.startsWith('#EXT-X-MAP:'));
  if (key >= 0 && map > key) lines.splice(key, 0, ...lines.splice(map, 1));
  return `${lines.join('\n')}\n`;
}

/**
 * Encrypts every rendition of a measured title (video and audio) for `protection`, with the
 * content keys derived from the title's key seed, and re-measures their peak and average bit
 * rates on the encrypted segments.
 * @throws RangeError for a scheme this packager does not write; Error for a damaged rendition.
 */
export async function protectRenditions(measured: MeasuredTitle, protection: Protection, keySeed: Buffer): Promise<MeasuredTitle> {
  if (protection.scheme !== 'aes-128') throw new RangeError(`unsupported protection scheme ${String(protection.scheme)}`);
  const { titleId } = measured.encoded.plan;
  const keys = new Map<number, { key: Buffer; uri: string }>();
  const keyFor = (period: number) => {
    let k = keys.get(period);
    if (!k) keys.set(period, (k = { key: deriveContentKey(keySeed, titleId, period), uri: contentKeyUrl(protection, titleId, period) }));
    return k;
  };
  const remeasure = async <R extends { uri: string; peakBitrateBps: number; averageBitrateBps: number }>(r: R): Promise<R> => {
    const playlist = path.join(measured.encoded.outDir, r.uri);
    await encryptMediaPlaylistAes128(playlist, protection.keyRotationSegments, keyFor);
    const m = await measureMediaPlaylist(playlist);
    return { ...r, peakBitrateBps: Math.round(m.peakBitrateBps), averageBitrateBps: Math.round(m.averageBitrateBps) };
  };
  const video = [];
  for (const v of measured.video) video.push(await remeasure(v));
  const audio = [];
  for (const a of measured.audio) audio.push(await remeasure(a));
  return { ...measured, video, audio };
}

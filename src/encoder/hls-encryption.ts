/**
 * Encrypting a measured title's renditions, a packaging step between measuring the renditions
 * and writing the multivariant playlist (title-stages.ts). Two schemes:
 *
 * **HLS AES-128** (RFC 8216 §5.2):
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
 * **Common Encryption** (`cenc`, ISO/IEC 23001-7; encoder/cenc.ts does the boxes): every sample
 * encrypted with the title's one content key, the init segments carrying `tenc`/`pssh` with its
 * key id, and one tag before the `EXT-X-MAP` of each media playlist:
 * `EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="<Clear Key license URL>",KEYFORMAT="org.w3.clearkey",
 * KEYFORMATVERSIONS="1",KEYID=0x<key id>` (METHOD and KEYFORMAT as Apple's HLS spec, RFC 8216bis
 * §4.4.4.4, names them; KEYID as hls.js reads it). The player's EME Clear Key session posts the
 * browser's license request to that URI (keys/key-server.ts).
 *
 * BANDWIDTH and AVERAGE-BANDWIDTH are re-measured on the encrypted segments (AES-128 padding adds
 * 1–16 bytes each; `cenc` adds the per-sample IVs and subsample maps to each `moof`).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { clearKeyLicenseUrl, contentKeyUrl, deriveCencKey, deriveContentKey, keyPeriodOf, type Protection } from '../keys/content-keys.js';
import { cencTrackOf, encryptSegmentCenc, protectInitSegment } from './cenc.js';
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

/** The W3C Clear Key key format (EME §9.1; hls.js KeySystemFormats.CLEARKEY). */
export const CLEAR_KEY_FORMAT = 'org.w3.clearkey';

/** The `EXT-X-KEY` line of a `cenc` title (see the module comment). */
export function cencKeyTag(licenseUrl: string, keyId: Buffer): string {
  return `#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="${licenseUrl}",KEYFORMAT="${CLEAR_KEY_FORMAT}",KEYFORMATVERSIONS="1",KEYID=0x${keyId.toString('hex').toUpperCase()}`;
}

/**
 * Puts `keyTag` on the line before a playlist's first `EXT-X-MAP` (the key applies to the init
 * segment and every segment after it; RFC 8216 §4.3.2.4). Written as text: hls-parser drops
 * the KEYID attribute.
 * @throws Error when the playlist has no EXT-X-MAP or already has a key.
 */
export function withKeyBeforeMap(playlist: string, keyTag: string): string {
  const lines = playlist.trimEnd().split('\n');
  const map = lines.findIndex((l) => l.startsWith('#EXT-X-MAP:'));
  if (map < 0) throw new Error('a cenc playlist needs an EXT-X-MAP init segment');
  if (lines.some((l) => l.startsWith('#EXT-X-KEY:'))) throw new Error('the playlist is already encrypted');
  lines.splice(map, 0, keyTag);
  return `${lines.join('\n')}\n`;
}

/**
 * Encrypts one rendition on disk in place with Common Encryption: its init segment and every
 * segment (encoder/cenc.ts), and adds `keyTag` to its playlist.
 * @throws Error when the playlist is not a media playlist with an init segment; RangeError from cenc.ts.
 */
export async function encryptMediaPlaylistCenc(playlistPath: string, key: Buffer, keyId: Buffer, keyTag: string): Promise<void> {
  const text = await fs.readFile(playlistPath, 'utf8');
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error(`${playlistPath} is not a media playlist`);
  const dir = path.dirname(playlistPath);
  const mapUri = parsed.segments[0]?.map?.uri;
  if (!mapUri) throw new Error(`${playlistPath} has no EXT-X-MAP init segment`);
  const initPath = path.join(dir, mapUri);
  const init = await fs.readFile(initPath);
  const track = cencTrackOf(init);
  for (const seg of parsed.segments) {
    const file = path.join(dir, seg.uri);
    await fs.writeFile(file, encryptSegmentCenc(await fs.readFile(file), key, track));
  }
  await fs.writeFile(initPath, protectInitSegment(init, keyId));
  await fs.writeFile(playlistPath, withKeyBeforeMap(text, keyTag));
}

/**
 * Encrypts every rendition of a measured title (video and audio) for `protection`, with the
 * content keys derived from the title's key seed, and re-measures their peak and average bit
 * rates on the encrypted segments.
 * @returns the re-measured title, and for `cenc` the EXT-X-KEY line (for I-frame playlists).
 * @throws RangeError for a scheme this packager does not write; Error for a damaged rendition.
 */
export async function protectRenditions(measured: MeasuredTitle, protection: Protection, keySeed: Buffer): Promise<{ readonly measured: MeasuredTitle; readonly cencKeyTag?: string }> {
  const { titleId } = measured.encoded.plan;
  let encrypt: (playlist: string) => Promise<void>;
  let keyTag: string | undefined;
  if (protection.scheme === 'aes-128') {
    const keys = new Map<number, { key: Buffer; uri: string }>();
    const keyFor = (period: number) => {
      let k = keys.get(period);
      if (!k) keys.set(period, (k = { key: deriveContentKey(keySeed, titleId, period), uri: contentKeyUrl(protection, titleId, period) }));
      return k;
    };
    encrypt = (playlist) => encryptMediaPlaylistAes128(playlist, protection.keyRotationSegments, keyFor);
  } else if (protection.scheme === 'cenc') {
    const { key, keyId } = deriveCencKey(keySeed, titleId);
    const tag = (keyTag = cencKeyTag(clearKeyLicenseUrl(protection, titleId), keyId));
    encrypt = (playlist) => encryptMediaPlaylistCenc(playlist, key, keyId, tag);
  } else {
    throw new RangeError(`unsupported protection scheme ${String(protection.scheme)}`);
  }
  const remeasure = async <R extends { uri: string; peakBitrateBps: number; averageBitrateBps: number }>(r: R): Promise<R> => {
    const playlist = path.join(measured.encoded.outDir, r.uri);
    await encrypt(playlist);
    const m = await measureMediaPlaylist(playlist);
    return { ...r, peakBitrateBps: Math.round(m.peakBitrateBps), averageBitrateBps: Math.round(m.averageBitrateBps) };
  };
  const video = [];
  for (const v of measured.video) video.push(await remeasure(v));
  const audio = [];
  for (const a of measured.audio) audio.push(await remeasure(a));
  return { measured: { ...measured, video, audio }, ...(keyTag ? { cencKeyTag: keyTag } : {}) };
}

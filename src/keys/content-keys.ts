/**
 * Content keys of protected titles: HLS AES-128 (RFC 8216 §5.2) and Common Encryption
 * (ISO/IEC 23001-7 `cenc`, encoder/cenc.ts).
 *
 * Each protected title has one 256-bit key seed, drawn from the operating system's CSPRNG
 * (`crypto.randomBytes`) when the master is uploaded and stored at `keys/<titleId>/key-seed`
 * — beside the title, never under `vod/<titleId>/`, which the origin and the edges serve. The
 * content key of key period n (segments n·N … n·N+N−1 with key rotation every N segments) is
 * derived from the seed with HKDF-SHA256 (RFC 5869; salt = the title id, info =
 * `vod-edge aes-128 key <n>`), the way PlayReady derives content keys from a key seed: any
 * number of periods, the same keys on every worker and on every retry of the title's job,
 * and one small secret per title for the key server (`vod keys`, keys/key-server.ts) to hold.
 * A `cenc` title has one content key and one key id, derived the same way (info `vod-edge cenc
 * key` and `vod-edge cenc key id`): the key id is public (it is in every init segment), the key
 * is not, and neither reveals the seed (HKDF outputs are independent, RFC 5869 §3.2).
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ObjectStore } from '../origin/object-store.js';
import { TITLE_ID_PATTERN } from '../title/title-address.js';

/** Store prefix of key material; no HTTP server of the data path maps a URL onto it. */
export const KEYS_PREFIX = 'keys';
/** File name of a title's key seed under `keys/<titleId>/`. */
export const KEY_SEED_NAME = 'key-seed';
/** Length of a title's key seed, bytes. */
export const KEY_SEED_BYTES = 32;
/** AES-128 key length, bytes (RFC 8216 §5.2: "a 16-octet key"). */
export const AES_128_KEY_BYTES = 16;
/** Highest key period a key request may name (a 4 s segment per period: 46 days of video). */
export const MAX_KEY_PERIOD = 1_000_000;

/**
 * Protection schemes a title can be published with: `aes-128` (HLS AES-128, whole segments,
 * key by URL) and `cenc` (Common Encryption of the samples, keys by a W3C Clear Key license).
 */
export const PROTECTION_SCHEMES = ['aes-128', 'cenc'] as const;
export type ProtectionScheme = (typeof PROTECTION_SCHEMES)[number];

/** How a title is protected: carried in its encode job, written into its title record. */
export const protectionSchema = z.object({
  scheme: z.enum(PROTECTION_SCHEMES),
  /** Segments per content key (`--key-rotation N`, aes-128 only); 0 = one key for the whole title. */
  keyRotationSegments: z.number().int().nonnegative().max(1_000_000),
  /** Base URL of the key server the playlists point players at (EXT-X-KEY URI), no trailing '/'. */
  keyServerUrl: z.url({ protocol: /^https?$/ }),
}).refine((p) => p.scheme !== 'cenc' || p.keyRotationSegments === 0, { message: 'cenc titles have one key: key rotation is for aes-128', path: ['keyRotationSegments'] });
export type Protection = z.infer<typeof protectionSchema>;

/** Path of a title's Clear Key license on the key server (W3C EME §9.1.4): `/clearkey/<titleId>`. */
export const CLEAR_KEY_PATH = 'clearkey';

/** Store key of a title's key seed. @throws RangeError for a malformed title id. */
export function keySeedObjectKey(titleId: string): string {
  if (!TITLE_ID_PATTERN.test(titleId)) throw new RangeError(`invalid title id: ${JSON.stringify(titleId)}`);
  return `${KEYS_PREFIX}/${titleId}/${KEY_SEED_NAME}`;
}

/**
 * The key period of the n-th segment (0-based): floor(n / N), or 0 without rotation.
 * @throws RangeError for a negative or fractional segment index.
 */
export function keyPeriodOf(segmentIndex: number, keyRotationSegments: number): number {
  if (!Number.isInteger(segmentIndex) || segmentIndex < 0) throw new RangeError(`bad segment index ${segmentIndex}`);
  return keyRotationSegments > 0 ? Math.floor(segmentIndex / keyRotationSegments) : 0;
}

/**
 * The AES-128 content key of one key period: HKDF-SHA256(seed, salt = title id, info =
 * `vod-edge aes-128 key <period>`), 16 bytes (RFC 5869).
 * @throws RangeError for a seed that is not KEY_SEED_BYTES long or a period outside 0..MAX_KEY_PERIOD.
 */
export function deriveContentKey(seed: Buffer, titleId: string, period: number): Buffer {
  if (seed.length !== KEY_SEED_BYTES) throw new RangeError(`a key seed is ${KEY_SEED_BYTES} bytes, not ${seed.length}`);
  if (!Number.isInteger(period) || period < 0 || period > MAX_KEY_PERIOD) throw new RangeError(`bad key period ${period}`);
  return Buffer.from(hkdfSync('sha256', seed, Buffer.from(titleId, 'utf8'), Buffer.from(`vod-edge aes-128 key ${period}`, 'utf8'), AES_128_KEY_BYTES));
}

/**
 * Creates a title's key seed unless it has one (an earlier upload of the same master, whose
 * job may be encrypting with it right now): 32 bytes from the CSPRNG, published through a
 * staging area whose commit only one writer can win (`ObjectStore.stage`: a folder rename, or
 * S3 `If-None-Match: *`), so two uploads racing still leave exactly one seed. Returns the seed
 * in force.
 * @throws whatever the store throws.
 */
export async function ensureKeySeed(store: ObjectStore, titleId: string): Promise<Buffer> {
  const key = keySeedObjectKey(titleId);
  const existing = await store.get(key);
  if (existing?.length === KEY_SEED_BYTES) return existing;
  const staging = await store.stage(`${KEYS_PREFIX}/${titleId}`, { commitLast: [KEY_SEED_NAME] });
  try {
    await fs.writeFile(path.join(staging.dir, KEY_SEED_NAME), randomBytes(KEY_SEED_BYTES), { mode: 0o600 });
    await staging.commit();
  } finally {
    await staging.abort();
  }
  return loadKeySeed(store, titleId);
}

/**
 * Reads a title's key seed.
 * @throws Error when the title has none (or it is damaged): a protected title cannot be packaged.
 */
export async function loadKeySeed(store: ObjectStore, titleId: string): Promise<Buffer> {
  const seed = await store.get(keySeedObjectKey(titleId));
  if (!seed || seed.length !== KEY_SEED_BYTES) throw new Error(`title ${titleId} has no key seed at ${keySeedObjectKey(titleId)}: upload it again with --encrypt`);
  return seed;
}

/** The URL of one key period's key on the key server: `<keyServerUrl>/keys/<titleId>/<period>`. */
export function contentKeyUrl(protection: Pick<Protection, 'keyServerUrl'>, titleId: string, period: number): string {
  return `${protection.keyServerUrl}/${KEYS_PREFIX}/${titleId}/${period}`;
}

/**
 * The `cenc` content key and key id of a title: HKDF-SHA256(seed, salt = title id, info =
 * `vod-edge cenc key` / `vod-edge cenc key id`), 16 bytes each (RFC 5869).
 * @throws RangeError for a seed that is not KEY_SEED_BYTES long.
 */
export function deriveCencKey(seed: Buffer, titleId: string): { readonly key: Buffer; readonly keyId: Buffer } {
  if (seed.length !== KEY_SEED_BYTES) throw new RangeError(`a key seed is ${KEY_SEED_BYTES} bytes, not ${seed.length}`);
  const hkdf = (info: string) => Buffer.from(hkdfSync('sha256', seed, Buffer.from(titleId, 'utf8'), Buffer.from(info, 'utf8'), AES_128_KEY_BYTES));
  return { key: hkdf('vod-edge cenc key'), keyId: hkdf('vod-edge cenc key id') };
}

/** The URL of a title's Clear Key license on the key server: `<keyServerUrl>/clearkey/<titleId>`. */
export function clearKeyLicenseUrl(protection: Pick<Protection, 'keyServerUrl'>, titleId: string): string {
  return `${protection.keyServerUrl}/${CLEAR_KEY_PATH}/${titleId}`;
}

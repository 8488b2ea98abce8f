/**
 * HLS AES-128 packaging and the key server: key derivation (HKDF), segment encryption that
 * Node's own AES decrypts back, the EXT-X-KEY tags of a rotated playlist (read back with
 * hls-parser), and the key server's answers to good and bad tokens, for AES-128 keys and for
 * Clear Key licenses of cenc titles. The store here is the real
 * filesystem store in a temporary folder; the playlist is a small hand-written CMAF one with
 * byte payloads standing in for fMP4 segments (encryption does not look inside them).
 */
import { createDecipheriv } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptMediaPlaylistAes128, encryptSegmentAes128 } from '../../../src/encoder/hls-encryption.js';
import { contentKeyUrl, deriveCencKey, deriveContentKey, ensureKeySeed, keyPeriodOf, keySeedObjectKey, KEY_SEED_BYTES, loadKeySeed, protectionSchema } from '../../../src/keys/content-keys.js';
import { startKeyServer } from '../../../src/keys/key-server.js';
import type { RunningServer } from '../../../src/http/listen.js';
import { signToken } from '../../../src/http/url-signing.js';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const TITLE = '0123456789abcdef';
const OTHER = 'fedcba9876543210';
const SIGNING_KEY = 'a-signing-key-of-32-characters!!';

let dir: string;
let store: FsObjectStore;

beforeAll(async () => {
  dir = await makeTempDir();
  store = new FsObjectStore(path.join(dir, 'store'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const decrypt = (data: Buffer, key: Buffer, iv: Buffer) => {
  const d = createDecipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([d.update(data), d.final()]);
};

describe('content keys', () => {
  it('derives a different 16-byte key per period and per title, the same every time', () => {
    const seed = Buffer.alloc(KEY_SEED_BYTES, 7);
    const k0 = deriveContentKey(seed, TITLE, 0);
    expect(k0).toHaveLength(16);
    expect(deriveContentKey(seed, TITLE, 0)).toEqual(k0);
    expect(deriveContentKey(seed, TITLE, 1)).not.toEqual(k0);
    expect(deriveContentKey(seed, OTHER, 0)).not.toEqual(k0);
    expect(() => deriveContentKey(Buffer.alloc(8), TITLE, 0)).toThrow(RangeError);
    expect(() => deriveContentKey(seed, TITLE, -1)).toThrow(RangeError);
  });

  it('derives one cenc key and key id per title, apart from each other and from the AES-128 keys; cenc refuses key rotation', () => {
    const seed = Buffer.alloc(KEY_SEED_BYTES, 7);
    const { key, keyId } = deriveCencKey(seed, TITLE);
    expect(key).toHaveLength(16);
    expect(keyId).toHaveLength(16);
    expect(key).not.toEqual(keyId);
    expect(key).not.toEqual(deriveContentKey(seed, TITLE, 0));
    expect(deriveCencKey(seed, TITLE)).toEqual({ key, keyId });
    expect(deriveCencKey(seed, OTHER).keyId).not.toEqual(keyId);
    const url = 'http://127.0.0.1:8082';
    expect(protectionSchema.safeParse({ scheme: 'cenc', keyRotationSegments: 0, keyServerUrl: url }).success).toBe(true);
    expect(protectionSchema.safeParse({ scheme: 'cenc', keyRotationSegments: 3, keyServerUrl: url }).success).toBe(false);
    expect(protectionSchema.safeParse({ scheme: 'aes-128', keyRotationSegments: 3, keyServerUrl: url }).success).toBe(true);
  });

  it('rotates every N segments', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => keyPeriodOf(i, 3))).toEqual([0, 0, 0, 1, 1, 1, 2]);
    expect([0, 9].map((i) => keyPeriodOf(i, 0))).toEqual([0, 0]);
  });

  it('creates one seed per title, outside vod/, and keeps the first when asked again', async () => {
    const seed = await ensureKeySeed(store, TITLE);
    expect(seed).toHaveLength(KEY_SEED_BYTES);
    expect(keySeedObjectKey(TITLE).startsWith('vod/')).toBe(false);
    expect(await ensureKeySeed(store, TITLE)).toEqual(seed);
    expect(await loadKeySeed(store, TITLE)).toEqual(seed);
    await expect(loadKeySeed(store, OTHER)).rejects.toThrow(/no key seed/);
    // Two racing creators of another title's seed end with one seed both see.
    const [a, b] = await Promise.all([ensureKeySeed(store, OTHER), ensureKeySeed(store, OTHER)]);
    expect(a).toEqual(b);
    expect(await loadKeySeed(store, OTHER)).toEqual(a);
  });
});

describe('AES-128 segment encryption', () => {
  it('pads to whole blocks and decrypts back', () => {
    const key = Buffer.alloc(16, 1);
    const iv = Buffer.alloc(16, 2);
    for (const n of [0, 1, 15, 16, 1000]) {
      const clear = Buffer.alloc(n, 0x5a);
      const enc = encryptSegmentAes128(clear, key, iv);
      expect(enc.length).toBe(16 * (Math.floor(n / 16) + 1));
      expect(decrypt(enc, key, iv)).toEqual(clear);
    }
  });

  it('encrypts a playlist in place: a tag per segment with its own IV, the key changing at each rotation, the init segment clear', async () => {
    const rend = path.join(dir, 'rendition');
    await fs.mkdir(rend, { recursive: true });
    const n = 7;
    const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:4', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-MAP:URI="init.mp4"'];
    const clear: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      clear.push(Buffer.from(`segment ${i} `.repeat(50 + i)));
      await fs.writeFile(path.join(rend, `seg_${i}.m4s`), clear[i]!);
      lines.push('#EXTINF:4.000000,', `seg_${i}.m4s`);
    }
    lines.push('#EXT-X-ENDLIST');
    await fs.writeFile(path.join(rend, 'init.mp4'), 'init');
    await fs.writeFile(path.join(rend, 'index.m3u8'), `${lines.join('\n')}\n`);
    const seed = await loadKeySeed(store, TITLE);
    const protection = { keyServerUrl: 'http://keys.example:8082' };
    await encryptMediaPlaylistAes128(path.join(rend, 'index.m3u8'), 3, (p) => ({ key: deriveContentKey(seed, TITLE, p), uri: contentKeyUrl(protection, TITLE, p) }));

    const text = await fs.readFile(path.join(rend, 'index.m3u8'), 'utf8');
    expect(text.indexOf('#EXT-X-MAP:')).toBeLessThan(text.indexOf('#EXT-X-KEY:'));
    expect(text.match(/#EXT-X-KEY:/g)).toHaveLength(n);
    const parsed = HLS.parse(text) as InstanceType<typeof HLS.types.MediaPlaylist>;
    expect(parsed.segments).toHaveLength(n);
    const ivs = new Set<string>();
    for (const [i, seg] of parsed.segments.entries()) {
      const period = Math.floor(i / 3);
      expect(seg.key?.method).toBe('AES-128');
      expect(seg.key?.uri).toBe(`http://keys.example:8082/keys/${TITLE}/${period}`);
      const iv = Buffer.from(seg.key!.iv as unknown as Uint8Array);
      expect(iv).toHaveLength(16);
      ivs.add(iv.toString('hex'));
      const enc = await fs.readFile(path.join(rend, seg.uri));
      expect(enc.includes(Buffer.from('segment'))).toBe(false);
      expect(decrypt(enc, deriveContentKey(seed, TITLE, period), iv)).toEqual(clear[i]);
    }
    expect(ivs.size).toBe(n);
    expect(await fs.readFile(path.join(rend, 'init.mp4'), 'utf8')).toBe('init');
  });
});

describe('key server', () => {
  const now = 1_800_000_000;
  let server: RunningServer;
  beforeAll(async () => {
    server = await startKeyServer({ store, signingKey: SIGNING_KEY, nowMs: () => now * 1000, host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });
  const token = (prefix: string, expiresAtS = now + 60, clientIp?: string) => signToken({ pathPrefix: prefix, expiresAtS, ...(clientIp ? { clientIp } : {}) }, SIGNING_KEY);
  const get = (p: string, bearer?: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { ...init, headers: { ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}), ...(init.headers as Record<string, string> | undefined) } });

  it('answers the key to a token covering the title, never cacheable', async () => {
    const seed = await loadKeySeed(store, TITLE);
    for (const res of [await get(`/keys/${TITLE}/2`, token(`/vod/${TITLE}/`)), await get(`/keys/${TITLE}/2?token=${encodeURIComponent(token('/vod/'))}`)]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(deriveContentKey(seed, TITLE, 2));
    }
  });

  it('refuses without a valid token for this title, with 403', async () => {
    const bad = [
      undefined,
      'not-a-token',
      token(`/vod/${OTHER}/`),
      token(`/vod/${TITLE}/`, now - 1),
      token(`/vod/${TITLE}/`, now + 60, '203.0.113.9'),
      signToken({ pathPrefix: `/vod/${TITLE}/`, expiresAtS: now + 60 }, 'another-key-of-enough-length'),
    ];
    for (const t of bad) {
      const res = await get(`/keys/${TITLE}/0`, t);
      expect(res.status, String(t)).toBe(403);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(16); // a JSON reason, never key bytes
    }
  });

  it('answers 404 for a title without keys (to a good token only), 400 for malformed paths, and preflights Authorization', async () => {
    const nokeys = 'aaaaaaaaaaaaaaaa';
    expect((await get(`/keys/${nokeys}/0`, token(`/vod/${nokeys}/`))).status).toBe(404);
    expect((await get(`/keys/${nokeys}/0`)).status).toBe(403);
    expect((await get('/keys/NOTATITLE/0')).status).toBe(400);
    expect((await get(`/keys/${TITLE}/-1`)).status).toBe(400);
    expect((await get(`/keys/${TITLE}/99999999`)).status).toBe(400);
    const pre = await get(`/keys/${TITLE}/0`, undefined, { method: 'OPTIONS', headers: { Origin: 'http://player.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
  });

  const license = (titleId: string, body: unknown, bearer?: string) =>
    fetch(`${server.url}/clearkey/${titleId}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: bearer ? { Authorization: `Bearer ${bearer}` } : {} });

  it('answers a Clear Key license (JSON Web Key set) for the title\'s key id to a good token, never cacheable', async () => {
    const { key, keyId } = deriveCencKey(await loadKeySeed(store, TITLE), TITLE);
    const res = await license(TITLE, { kids: [keyId.toString('base64url'), Buffer.alloc(16, 1).toString('base64url')], type: 'temporary' }, token(`/vod/${TITLE}/`));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ keys: [{ kty: 'oct', kid: keyId.toString('base64url'), k: key.toString('base64url') }], type: 'temporary' });
  });

  it('refuses a license without a valid token (403), for key ids not the title\'s (404), for a malformed request (400)', async () => {
    const { keyId } = deriveCencKey(await loadKeySeed(store, TITLE), TITLE);
    const good = { kids: [keyId.toString('base64url')], type: 'temporary' };
    for (const t of [undefined, token(`/vod/${OTHER}/`), token(`/vod/${TITLE}/`, now - 1)]) {
      const res = await license(TITLE, good, t);
      expect(res.status, String(t)).toBe(403);
      expect(await res.text()).not.toContain(deriveCencKey(await loadKeySeed(store, TITLE), TITLE).key.toString('base64url'));
    }
    expect((await license(TITLE, { kids: [Buffer.alloc(16, 1).toString('base64url')] }, token(`/vod/${TITLE}/`))).status).toBe(404);
    expect((await license('aaaaaaaaaaaaaaaa', good, token('/vod/aaaaaaaaaaaaaaaa/'))).status).toBe(404);
    for (const body of ['not json', {}, { kids: [] }, { kids: ['short'] }, { kids: 'x' }]) expect((await license(TITLE, body, token(`/vod/${TITLE}/`))).status, JSON.stringify(body)).toBe(400);
    // Without a token, a malformed request is refused for the token (403), not described (400).
    expect((await license(TITLE, 'not json')).status).toBe(403);
    expect((await license('NOTATITLE', good)).status).toBe(400);
    expect((await license(TITLE, 'x'.repeat(20_000), token(`/vod/${TITLE}/`))).status).toBe(413);
    const pre = await fetch(`${server.url}/clearkey/${TITLE}`, { method: 'OPTIONS', headers: { Origin: 'http://player.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });
});

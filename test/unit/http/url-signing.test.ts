import { describe, expect, it } from 'vitest';
import { signedPath, signToken, verifySignedPath } from '../../../src/http/url-signing.js';

const KEY = 'a-long-enough-test-key';
const claims = { pathPrefix: '/vod/0123456789abcdef/', expiresAtS: 2_000 };

describe('signed URLs', () => {
  it('accepts a valid token for any path under its prefix and strips it', () => {
    const p = signedPath('/vod/0123456789abcdef/master.m3u8', claims, KEY);
    expect(p).toMatch(/^\/s\/exp=2000~acl=%2Fvod%2F0123456789abcdef%2F~hmac=[0-9a-f]{64}\/vod\//);
    expect(verifySignedPath(p, KEY, 1_000, '1.2.3.4')).toEqual({ ok: true, path: '/vod/0123456789abcdef/master.m3u8' });
    // A segment URL resolved relative to the playlist keeps the token.
    const seg = p.replace('master.m3u8', 'video_360p_365k/seg_00001.m4s');
    expect(verifySignedPath(seg, KEY, 1_000, undefined)).toMatchObject({ ok: true, path: '/vod/0123456789abcdef/video_360p_365k/seg_00001.m4s' });
  });

  it('refuses tampered, expired, out-of-prefix, wrong-key and wrong-client tokens', () => {
    const p = signedPath('/vod/0123456789abcdef/master.m3u8', claims, KEY);
    expect(verifySignedPath(p.replace('exp=2000', 'exp=9999'), KEY, 1_000, undefined)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifySignedPath(p, KEY, 2_000, undefined)).toEqual({ ok: false, reason: 'token expired' });
    expect(verifySignedPath(p.replace('/vod/0123456789abcdef/master', '/vod/ffffffffffffffff/master'), KEY, 1_000, undefined)).toEqual({ ok: false, reason: 'path not covered by token' });
    expect(verifySignedPath(p, 'another-key-entirely', 1_000, undefined)).toEqual({ ok: false, reason: 'bad signature' });
    const bound = signedPath('/vod/0123456789abcdef/master.m3u8', { ...claims, clientIp: '10.0.0.1' }, KEY);
    expect(verifySignedPath(bound, KEY, 1_000, '::ffff:10.0.0.1')).toMatchObject({ ok: true });
    expect(verifySignedPath(bound, KEY, 1_000, '10.0.0.2')).toEqual({ ok: false, reason: 'token bound to another client' });
    expect(verifySignedPath('/s/garbage/vod/x', KEY, 1_000, undefined)).toEqual({ ok: false, reason: 'malformed token' });
    expect(() => signToken({ ...claims, pathPrefix: 'vod/' }, KEY)).toThrow(RangeError);
  });

  it('parses tokens strictly: nothing may follow the MAC, precede exp, or hide between fields', () => {
    const p = signedPath('/vod/0123456789abcdef/master.m3u8', claims, KEY);
    const at = p.indexOf('/vod/');
    const [head, tail] = [p.slice(0, at), p.slice(at)];
    for (const bad of [`${head}junk${tail}`, `${head}0${tail}`, `${head}~x=1${tail}`, p.replace('/s/exp', '/s/x=1~exp'), p.replace('~acl=', '~x=1~acl='), `${head.toUpperCase().replace('/S/', '/s/')}${tail}`]) {
      expect(verifySignedPath(bad, KEY, 1_000, undefined), bad).toMatchObject({ ok: false });
    }
    expect(() => signToken({ ...claims, pathPrefix: "/vod/it's/" }, KEY)).toThrow(/cannot carry/);
  });
});

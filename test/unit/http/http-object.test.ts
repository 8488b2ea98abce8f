import { describe, expect, it } from 'vitest';
import { cacheControlFor, contentTypeFor, IMMUTABLE_CACHE_CONTROL, resolveRange, vodKeyFromPath } from '../../../src/http/http-object.js';

describe('resolveRange (RFC 9110 §14)', () => {
  it('serves the whole object without a Range', () => {
    expect(resolveRange(undefined, 100)).toEqual({ kind: 'full' });
    expect(resolveRange('', 100)).toEqual({ kind: 'full' });
  });

  it('resolves one range, open-ended and suffix forms, clamped to the object', () => {
    expect(resolveRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(resolveRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(resolveRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(resolveRange('bytes=50-500', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
    // A suffix longer than the object is the whole object (RFC 9110 §14.1.2), as a 206.
    expect(resolveRange('bytes=-200', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(resolveRange('bytes=-100', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
  });

  it('answers 416 when no range is satisfiable', () => {
    expect(resolveRange('bytes=100-200', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(resolveRange('bytes=0-0', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(resolveRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(resolveRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores malformed, non-bytes and multi-range requests (the whole object, 200)', () => {
    expect(resolveRange('bytes=abc', 100)).toEqual({ kind: 'full' });
    expect(resolveRange('bytes=9-1', 100)).toEqual({ kind: 'full' });
    expect(resolveRange('items=0-1', 100)).toEqual({ kind: 'full' });
    expect(resolveRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' });
    expect(resolveRange(`bytes=${'1'.repeat(2000)}-`, 100)).toEqual({ kind: 'full' });
  });

  it('combines overlapping ranges into one', () => {
    expect(resolveRange('bytes=0-10,5-20', 100)).toEqual({ kind: 'partial', start: 0, end: 20 });
  });
});

describe('vodKeyFromPath', () => {
  it('maps /vod/ paths to store keys', () => {
    expect(vodKeyFromPath('/vod/0123456789abcdef/video_360p_365k/seg_00001.m4s')).toEqual({ ok: true, key: 'vod/0123456789abcdef/video_360p_365k/seg_00001.m4s' });
  });

  it('never lets a path escape the store', () => {
    for (const p of ['/vod/../etc/passwd', '/vod/a/../../x', '/vod/%2e%2e/%2e%2e/etc/passwd', '/vod/a/b%2Fc', '/vod/a/.staging', '/vod/a//b', '/vod/a/b\0c']) {
      expect(vodKeyFromPath(p).ok, p).toBe(false);
    }
  });

  it('answers 400 for broken percent-encoding and 404 outside /vod/', () => {
    expect(vodKeyFromPath('/vod/a/%E0%A4%A')).toMatchObject({ ok: false, status: 400 });
    expect(vodKeyFromPath('/etc/passwd')).toMatchObject({ ok: false, status: 404 });
  });
});

describe('content type and cache control', () => {
  it('labels playlists, video and audio segments', () => {
    expect(contentTypeFor('vod/x/master.m3u8')).toBe('application/vnd.apple.mpegurl');
    expect(contentTypeFor('vod/x/video_360p_365k/seg_00000.m4s')).toBe('video/mp4');
    expect(contentTypeFor('vod/x/video_360p_365k/init.mp4')).toBe('video/mp4');
    expect(contentTypeFor('vod/x/audio_aac_128k/seg_00000.m4s')).toBe('audio/mp4');
    expect(contentTypeFor('vod/x/title.json')).toMatch(/^application\/json/);
  });

  it('makes segments immutable and playlists short-lived', () => {
    expect(cacheControlFor('vod/x/video_360p_365k/seg_00000.m4s')).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(cacheControlFor('vod/x/master.m3u8')).toMatch(/max-age=300/);
  });
});

/**
 * Bad input through the real CLI: one clear sentence, a non-zero exit, nothing stored,
 * nothing queued (the queue's Redis is not even started).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths, runFfmpeg } from '../../../src/encoder/ffmpeg.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { runCli } from '../../helpers/run-cli.js';
import { listFiles, makeTempDir } from '../../helpers/temp-dir.js';
import { sharedMedia } from '../../helpers/test-stack.js';

let inputs: string;
let goodMaster: string;

beforeAll(async () => {
  const paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  inputs = await makeTempDir();
  goodMaster = await makeSyntheticMaster({ path: path.join(inputs, 'good.mp4'), durationS: 3 }, paths);
  await fs.writeFile(path.join(inputs, 'zero.mp4'), '');
  await fs.writeFile(path.join(inputs, 'notes.mp4'), 'These are my notes, not a video.\n'.repeat(20));
  const good = await fs.readFile(goodMaster);
  // moov first (faststart), media data cut off half way.
  await fs.writeFile(path.join(inputs, 'truncated.mp4'), good.subarray(0, Math.floor(good.length / 2)));
  // moov last (no faststart), cut before the moov: "moov atom not found".
  const noFaststart = await makeSyntheticMaster({ path: path.join(inputs, 'moov-last.mov'), durationS: 3 }, paths).then(() => fs.readFile(path.join(inputs, 'moov-last.mov')));
  await fs.writeFile(path.join(inputs, 'unfinished.mp4'), noFaststart.subarray(0, 2000));
  await makeSyntheticMaster({ path: path.join(inputs, 'audio-only.mp4'), durationS: 3, audioOnly: true }, paths);
  // A still image: one JPEG frame of the test pattern.
  await runFfmpeg({ inputs: [{ source: 'testsrc2=size=640x360:rate=1', format: 'lavfi' }], outputOptions: ['-frames:v', '1'], output: path.join(inputs, 'still.jpg') }, paths);
  // A header that claims 16000x16000 frames, with almost nothing behind it.
  await fs.writeFile(path.join(inputs, 'huge.y4m'), Buffer.concat([Buffer.from('YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n'), Buffer.alloc(4096)]));
  // An MP4 whose boxes are intact but whose media data is zeros.
  const zeroed = Buffer.from(good);
  const mdat = zeroed.indexOf('mdat');
  zeroed.fill(0, mdat + 4, mdat - 4 + zeroed.readUInt32BE(mdat - 4));
  await fs.writeFile(path.join(inputs, 'zeroed.mp4'), zeroed);
  // The first 30% of a real WebM: its header still says 70.5 s (Matroska has no box sizes to check).
  const webm = await fs.readFile(sharedMedia('tos_liveaction_battle_800x332_24fps_70s_vp8_vorbis.webm'));
  await fs.writeFile(path.join(inputs, 'cut.webm'), webm.subarray(0, Math.floor(webm.length * 0.3)));
  // A broadcast-style H.264 MPEG-TS (keyframe every second) whose middle 6% is garbage behind
  // intact TS packet headers: a seek lands mid-GOP in a TS, and the check must not take the
  // decoder's missing-reference messages for damage, nor damage for them.
  const ts = await fs.readFile(await makeSyntheticMaster({ path: path.join(inputs, 'broadcast.ts'), durationS: 20, keyframeIntervalS: 1 }, paths));
  let seed = 7;
  for (let i = Math.floor(ts.length * 0.47); i < Math.floor(ts.length * 0.53); i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    if (i % 188 > 4) ts[i] = seed & 0xff;
  }
  await fs.writeFile(path.join(inputs, 'garbled.ts'), ts);
  // 3 s of picture with 10 s of sound: not cut, but the streams do not end together.
  await runFfmpeg({ inputs: [{ source: 'testsrc2=size=320x180:rate=25:duration=3', format: 'lavfi' }, { source: 'sine=frequency=440:sample_rate=48000:duration=10', format: 'lavfi' }], outputOptions: ['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac'], output: path.join(inputs, 'long-audio.mp4') }, paths);
});

const cases: [string, RegExp][] = [
  ['missing.mp4', /^vod: .*missing\.mp4 does not exist\.$/],
  ['zero.mp4', /^vod: zero\.mp4 is empty \(0 bytes\)\.$/],
  ['notes.mp4', /^vod: notes\.mp4 is not a media file ffprobe can read \(.+\)\.$/],
  ['truncated.mp4', /^vod: truncated\.mp4 is truncated: the 'mdat' box at byte \d+ needs \d+ bytes but the file has \d+\.$/],
  ['unfinished.mp4', /^vod: unfinished\.mp4 is (truncated|a truncated or unfinished MP4).*\.$/],
  ['audio-only.mp4', /^vod: audio-only\.mp4 has no video stream \(it is audio only\); a master needs video\.$/],
  ['still.jpg', /^vod: still\.jpg is a still image \(mjpeg in image2\), not a video\.$/],
  ['huge.y4m', /^vod: huge\.y4m has a 16000x16000 video stream, beyond the largest frame we encode \(8192x4352, H\.264 level 6\.2\)\.$/],
  ['zeroed.mp4', /^vod: zeroed\.mp4 does not decode at 0\.0 s: .+\.$/],
  ['garbled.ts', /^vod: garbled\.ts does not decode at 10\.0 s: (?!.*(Last message|mmco|POCs)).+\.$/],
  ['cut.webm', /^vod: cut\.webm is truncated: its video ends at 2\d\.\d s but its container says 70\.5 s\.$/],
  ['long-audio.mp4', /^vod: long-audio\.mp4's video ends at 3\.0 s but its audio runs to 10\.0 s: a master's streams must end together \(within 2 s\); cut the audio to the picture \(ffmpeg -i long-audio\.mp4 -t 3\.0 -c copy trimmed\.mp4\) and upload that\.$/],
];

describe('vod upload with bad input', () => {
  for (const [name, message] of cases) {
    it(`refuses ${name} with one sentence, exit 2, nothing stored or queued`, async () => {
      const dataDir = await makeTempDir();
      const r = await runCli(['--data-dir', dataDir, 'upload', path.join(inputs, name)]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(await listFiles(dataDir)).toEqual([]);
    });
  }

  it('refuses a bad flag with a clear message, exit 2 (a usage error, as a refused master), help exit 0', async () => {
    const r = await runCli(['upload', goodMaster, '--colour', 'blue']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--colour'/);
    expect((await runCli(['edge', '--cache-bytes', 'lots'])).code).toBe(2);
    expect((await runCli(['nonsense'])).code).toBe(2);
    const help = await runCli(['upload', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: vod upload/);
  });

  it('refuses encryption and codec flags that make no sense, storing nothing; vod keys without a signing key', async () => {
    const runs = [
      [['upload', goodMaster, '--encrypt', 'des'], /--encrypt.*'des' is invalid.*aes-128/],
      [['upload', goodMaster, '--key-rotation', '4'], /--key-rotation needs --encrypt/],
      [['upload', goodMaster, '--encrypt', 'aes-128', '--key-rotation', '-1'], /--key-rotation/],
      [['upload', goodMaster, '--encrypt', 'cenc', '--key-rotation', '4'], /--key-rotation is for --encrypt aes-128: a cenc title has one key/],
      [['upload', goodMaster, '--codecs', 'h264,av1'], /unknown codec 'av1'/],
      [['upload', goodMaster, '--codecs', 'hevc'], /the ladder always has H\.264/],
      [['upload', goodMaster, '--codecs', 'h264,hevc', '--ladder', 'fixed'], /--codecs h264,hevc needs --ladder per-title/],
      [['keys'], /vod keys needs the signing key/],
    ] as const;
    const dataDir = await makeTempDir();
    for (const [args, message] of runs) {
      const r = await runCli(['--data-dir', dataDir, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(await listFiles(dataDir)).toEqual([]);
  });

  it('refuses bad subtitle side files with one sentence, exit 2, storing nothing (no Redis needed to say so)', async () => {
    await fs.writeFile(path.join(inputs, 'empty.vtt'), 'WEBVTT\n\n');
    await fs.writeFile(path.join(inputs, 'ok.srt'), '1\n00:00:00,500 --> 00:00:01,500\nHello\n');
    const runs = [
      [['--subtitles', 'en'], 2, /"en" is not LANG=FILE/],
      [['--subtitles', `x!y=${path.join(inputs, 'ok.srt')}`], 2, /^vod: subtitles .*ok\.srt: "x!y" is not a language tag \(use e\.g\. en, fr, pt-BR or eng\)\.?$/],
      [['--subtitles', `en=${path.join(inputs, 'nope.srt')}`], 2, /^vod: subtitles .*nope\.srt: no such file\.?$/],
      [['--subtitles', `en=${path.join(inputs, 'notes.mp4')}`], 2, /^vod: subtitles .*notes\.mp4: not a subtitle file ffmpeg can read \(SubRip \.srt, WebVTT \.vtt, ASS, …\)\.?$/],
      [['--subtitles', `en=${path.join(inputs, 'ok.srt')},fr=${path.join(inputs, 'empty.vtt')}`], 2, /^vod: subtitles .*empty\.vtt: no cue in it\.?$/],
    ] as const;
    const dataDir = await makeTempDir();
    for (const [args, code, message] of runs) {
      const r = await runCli(['--data-dir', dataDir, 'upload', goodMaster, ...args], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(await listFiles(dataDir)).toEqual([]);
  });

  it('refuses a bad cache size and a malformed origin URL on vod edge', async () => {
    const a = await runCli(['edge', '--cache-bytes', 'lots']);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toMatch(/--cache-bytes.*'lots' is invalid/);
    const b = await runCli(['edge', '--origin', 'ftp:/nowhere']);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/--origin.*is invalid.*http/);
  });

  it('refuses weak secrets on the command line as it does in the environment', async () => {
    const runs = [
      [['edge', '--admin-token', 'x'], /--admin-token.*must be at least 8 characters/],
      [['edge', '--signing-key', 'short'], /--signing-key.*must be at least 16 characters/],
      [['steer', '--edges', 'http://127.0.0.1:1', '--signing-key', 'short'], /--signing-key.*must be at least 16 characters/],
      [['sign', '--path', '/vod/0123456789abcdef/master.m3u8', '--key', 'short'], /--key.*must be at least 16 characters/],
      [['edge', 'purge', '--edge', 'http://127.0.0.1:1', '--title', '0123456789abcdef', '--admin-token', 'x'], /--admin-token.*must be at least 8 characters/],
    ] as const;
    for (const [args, message] of runs) {
      const r = await runCli([...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const env = await runCli(['edge'], { env: { VOD_ADMIN_TOKEN: 'x' } });
    expect(env.code).not.toBe(0);
    expect(env.stderr).toMatch(/VOD_ADMIN_TOKEN is invalid: must be at least 8 characters/);
  });

  it('refuses to sign a token no edge would honour: a path that is not a title object, a bad address, an expiry past ten years', async () => {
    const key = ['--key', '0123456789abcdef0123'];
    const runs = [
      [['--path', '/vod/x/master.m3u8'], /^vod: --path \/vod\/x\/master\.m3u8 does not name a title: \/vod\/<title id, 16 hex digits>\/\.\.\.$/],
      [['--path', '/vod/0123456789abcdef/../keys/x'], /^vod: --path .* is not a path an edge serves \(.+\)\.$/],
      [['--path', '/vod/0123456789abcdef/master.m3u8', '--ip', '999.1.1.1'], /^vod: --ip 999\.1\.1\.1 is not an IPv4 or IPv6 address\.$/],
      [['--path', '/vod/0123456789abcdef/master.m3u8', '--ttl', '1e99'], /--ttl.*'1e99' is invalid\. must be at most 315360000 s \(ten years\)\./],
    ] as const;
    for (const [args, message] of runs) {
      const r = await runCli(['sign', ...key, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.split('\n')[0], args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    const ok = await runCli(['sign', ...key, '--path', '/vod/0123456789abcdef/master.m3u8', '--ip', '::1', '--ttl', '315360000']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^\/s\/exp=\d{10}~acl=%2Fvod%2F0123456789abcdef%2F~ip=%3A%3A1~hmac=[0-9a-f]{64}\/vod\/0123456789abcdef\/master\.m3u8\n$/);
  });

  it('says when Redis cannot be reached, and stores nothing', async () => {
    const dataDir = await makeTempDir();
    const r = await runCli(['--data-dir', dataDir, 'upload', goodMaster], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^vod: Cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/? \(REDIS_URL\): .*ECONNREFUSED.*\.$/);
    expect(await listFiles(dataDir)).toEqual([]);
  });

  it('names the Debian package when redis-server is not installed', async () => {
    const dataDir = await makeTempDir();
    const r = await runCli(['--data-dir', dataDir, 'upload', goodMaster], { env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('vod: redis-server is not installed: install the Debian package redis-server (apt-get install redis-server) or set REDIS_URL to a running Redis.');
    expect(await listFiles(path.join(dataDir, 'store'))).toEqual([]);
  });
});

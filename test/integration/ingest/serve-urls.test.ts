/**
 * `vod serve` on ports of the user's choosing, then `vod upload` and `vod status` from another
 * shell on the same data folder: the printed playback URLs name the edge that runs, not the
 * default port (real CLI processes, real embedded Redis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_RECORD_FILE, readServeRecord, viewerUrl, writeServeRecord } from '../../../src/cli/serve-record.js';
import { resolveFfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { freePort } from '../../helpers/free-port.js';
import { VOD_BIN, runCli } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let dataDir: string;
let master: string;
let serve: ChildProcess | undefined;
let serveOut = '';
let edgePort: number;

/** Env of every CLI process here: the test's data folder, no edge URL or port from the caller. */
const cliEnv = () => ({ VOD_DATA_DIR: dataDir, VOD_EDGE_URL: '', VOD_EDGE_PORT: '', REDIS_URL: '', LOG_LEVEL: 'warn' });

beforeAll(async () => {
  dataDir = await makeTempDir();
  master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'serve-urls.mp4'), durationS: 2 }, resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined }));
  edgePort = await freePort();
  const originPort = await freePort();
  serve = spawn(process.execPath, [VOD_BIN, 'serve', '--origin-port', String(originPort), '--edge-port', String(edgePort)], { env: { ...process.env, ...cliEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.on('data', (d) => (serveOut += d));
  serve.stderr!.on('data', (d) => (serveOut += d));
  const deadline = Date.now() + 60_000;
  while (!serveOut.includes('Upload with') && Date.now() < deadline && serve.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  if (!serveOut.includes('Upload with')) throw new Error(`vod serve did not start:\n${serveOut}`);
}, 90_000);

afterAll(async () => {
  // After a failed test serve still runs: Ctrl-C stops its embedded Redis too (SIGKILL would orphan it).
  if (serve && serve.exitCode === null) {
    const closed = new Promise((r) => serve!.once('close', r));
    serve.kill('SIGINT');
    const timer = setTimeout(() => serve!.kill('SIGKILL'), 20_000);
    await closed;
    clearTimeout(timer);
  }
}, 30_000);

describe('vod serve on chosen ports', () => {
  it('is named in the URLs vod upload and vod status print, and forgotten once serve stops', async () => {
    const upload = await runCli(['upload', '--no-wait', master, '--title', 'Ports'], { env: cliEnv(), timeoutMs: 60_000 });
    expect(upload.code, upload.stderr).toBe(0);
    const url = /^Playback URL: (\S+)/m.exec(upload.stdout)?.[1];
    expect(url).toMatch(new RegExp(`^http://localhost:${edgePort}/vod/[0-9a-f]{16}/master\\.m3u8$`));

    const titleId = /^Title id:\s+([0-9a-f]{16})$/m.exec(upload.stdout)![1]!;
    const status = await runCli(['status', titleId], { env: cliEnv(), timeoutMs: 30_000 });
    expect(status.code, status.stderr).toBe(0);
    if (/^Playback:/m.test(status.stdout)) expect(status.stdout).toContain(`http://localhost:${edgePort}/`);

    // Ctrl-C: serve stops cleanly and takes its record with it.
    serve!.kill('SIGINT');
    const code = await new Promise<number | null>((r) => serve!.once('close', r));
    expect(code, serveOut).toBe(0);
    expect(fs.existsSync(path.join(dataDir, SERVE_RECORD_FILE))).toBe(false);
  }, 120_000);

  it('ignores the record of a serve that has ended or a file that is not one', async () => {
    const dir = await makeTempDir();
    // A pid that cannot be running: the record a killed serve leaves behind.
    writeServeRecord(dir, { edgeUrl: 'http://127.0.0.1:9999', originUrl: 'http://127.0.0.1:9998' }, 2 ** 22 + 1);
    expect(readServeRecord(dir)).toBeUndefined();
    writeServeRecord(dir, { edgeUrl: 'http://0.0.0.0:9999', originUrl: 'http://127.0.0.1:9998' });
    expect(readServeRecord(dir)).toEqual({ pid: process.pid, edgeUrl: 'http://localhost:9999', originUrl: 'http://localhost:9998' });
    fs.writeFileSync(path.join(dir, SERVE_RECORD_FILE), '{"pid": "no"');
    expect(readServeRecord(dir)).toBeUndefined();
    expect(viewerUrl('http://edge.example:8081')).toBe('http://edge.example:8081');
    expect(viewerUrl('http://127.0.0.10:8081')).toBe('http://127.0.0.10:8081');
  });
});

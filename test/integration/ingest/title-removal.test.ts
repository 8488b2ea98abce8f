/**
 * `vod remove` on a real stack (embedded redis-server, filesystem store, origin and edge, the
 * CLI in a child process): a published title goes from the catalog, the store, the queue and
 * the edge's cache, and its master can be uploaded again (under a new id); a queued encode is
 * cancelled; a title a worker holds (a real BullMQ worker that keeps the job) is refused with
 * nothing removed.
 */
import path from 'node:path';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTitle } from '../../../src/origin/catalog.js';
import { reissuedTitleId } from '../../../src/ingest/title-id.js';
import { removeTitle } from '../../../src/ingest/title-removal.js';
import { uploadMaster } from '../../../src/ingest/upload.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { viewerUrl, writeServeRecord } from '../../../src/cli/serve-record.js';
import { runCli } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { createTestStack, type TestStack } from '../../helpers/test-stack.js';

let stack: TestStack;
let dir: string;

beforeAll(async () => {
  stack = await createTestStack();
  await stack.startServers();
  dir = await makeTempDir();
});

afterAll(async () => {
  await stack?.stop();
});

const cli = (args: string[]) => runCli(['--data-dir', stack.dataDir, ...args], { env: { VOD_X264_PRESET: 'ultrafast', VOD_QUEUE_NAME: stack.queueName } });
const master = (name: string, frameRate: number) => makeSyntheticMaster({ path: path.join(dir, name), durationS: 2, width: 320, height: 180, frameRate, audio: false }, stack.paths);
const upload = (file: string) => uploadMaster({ file, ladder: 'fixed' }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths });

describe('vod remove', () => {
  it('cancels a queued encode, and refuses a title a worker holds without removing anything', async () => {
    const queuedFile = await master('queued.mp4', 24);
    const queued = await upload(queuedFile);
    expect(queued.state).toBe('waiting');
    const r = await cli(['remove', queued.titleId, '--edge', stack.edge!.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Removed ${queued.titleId} (queued): was not published, queued encode cancelled, master deleted`);
    expect(r.stdout).toContain(`Purged 0 cached objects from ${stack.edge!.url}`);
    expect(await stack.queue.status(queued.titleId)).toBeUndefined();
    expect(await stack.store.exists(`masters/${queued.titleId}`)).toBe(false);
    // Never published, so no cache holds its segments: uploaded again, it keeps its id.
    expect((await upload(queuedFile)).titleId).toBe(queued.titleId);
    await removeTitle(queued.titleId, { store: stack.store, queue: stack.queue });

    // A worker that takes the job and keeps it until the test lets go: the job is active.
    const held = await upload(await master('held.mp4', 25));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker(stack.queueName!, () => gate, { connection: stack.redis.createClient() });
    try {
      await expect.poll(async () => (await stack.queue.status(held.titleId))?.state, { timeout: 10_000 }).toBe('active');
      const busy = await cli(['remove', held.titleId]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain(`Title ${held.titleId} is being encoded (the encode job of title ${held.titleId} is running); nothing was removed`);
      expect((await stack.queue.status(held.titleId))?.state).toBe('active');
      expect(await stack.store.exists(`masters/${held.titleId}`)).toBe(true);
    } finally {
      release();
      await worker.close();
    }
  });

  it('takes a published title out of the catalog, the store, the queue and the edge cache; the same master can be uploaded again', async () => {
    await stack.startWorker();
    const file = await master('published.mp4', 30);
    const up = await cli(['upload', file, '--ladder', 'fixed']);
    expect(up.code, up.stderr).toBe(0);
    const titleId = /Title id:\s+([0-9a-f]{16})/.exec(up.stdout)![1]!;
    expect(await readTitle(stack.store, titleId)).toBeDefined();
    const playlist = `${stack.edge!.url}/vod/${titleId}/master.m3u8`;
    await fetch(playlist).then((res) => res.arrayBuffer());
    expect((await fetch(playlist)).headers.get('x-cache')).toBe('HIT');

    // No --edge: the edge of the vod serve running on this data folder (its record names it) is purged.
    writeServeRecord(stack.dataDir, { edgeUrl: stack.edge!.url, originUrl: stack.origin!.url });
    const r = await cli(['remove', titleId]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Removed ${titleId} (published): unpublished, encode job (completed) dropped, master deleted`);
    expect(r.stdout).toMatch(new RegExp(`^Purged [1-9]\\d* cached objects from ${viewerUrl(stack.edge!.url)}$`, 'm'));
    expect(await readTitle(stack.store, titleId)).toBeUndefined();
    expect(await stack.store.exists(`vod/${titleId}`)).toBe(false);
    expect(await stack.store.exists(`masters/${titleId}`)).toBe(false);
    expect(await stack.queue.status(titleId)).toBeUndefined();
    // 410 Gone, not 404: through the edge (with the origin's reason) and from the origin itself.
    const goneAnswer = await fetch(playlist);
    expect(goneAnswer.status).toBe(410);
    expect(((await goneAnswer.json()) as { error: string }).error).toMatch(new RegExp(`^upstream .+ answered 410: title ${titleId} was removed at 20\\d\\d-`));
    const record = await fetch(`${stack.origin!.url}/titles/${titleId}`);
    expect(record.status).toBe(410);
    expect(await record.json()).toMatchObject({ titleId, title: 'published', removedAt: expect.stringMatching(/^20\d\d-/) });
    expect((await fetch(`${stack.origin!.url}/vod/${titleId}/no-such-rendition/index.m3u8`)).status).toBe(410);
    expect((await fetch(`${stack.origin!.url}/vod/0123456789abcdef/master.m3u8`)).status).toBe(404);
    expect((await fetch(`${stack.origin!.url}/titles/0123456789abcdef`)).status).toBe(404);
    const catalog = (await (await fetch(`${stack.edge!.url}/titles`)).json()) as { titles: { titleId: string }[] };
    expect(catalog.titles.map((t) => t.titleId)).not.toContain(titleId);

    // Asked about again, the id is said to be removed, with the id its master would take now.
    for (const args of [['remove', titleId], ['status', titleId]]) {
      const gone = await cli(args);
      expect(gone.code).toBe(2);
      expect(gone.stderr.trim()).toMatch(new RegExp(`^vod: Title ${titleId} \\(published\\) was removed at 20\\d\\d-\\d\\d-\\d\\dT[\\d:.]+Z \\(vod remove\\); its master uploaded again gets the id ${reissuedTitleId(titleId)}\\.$`));
    }
    const unknown = await cli(['remove', '0123456789abcdef']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('vod: No upload or published title has the id 0123456789abcdef.');

    // Encoded and published again, under a new id: caches may keep the old id's segments for a
    // year (served immutable), so its URLs never carry another encode.
    const again = await cli(['upload', file, '--ladder', 'fixed']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^State: +published$/m);
    const newId = /Title id:\s+([0-9a-f]{16})/.exec(again.stdout)![1]!;
    expect(newId).toBe(reissuedTitleId(titleId));
    expect(await readTitle(stack.store, newId)).toMatchObject({ titleId: newId, title: 'published' });
    expect((await fetch(`${stack.edge!.url}/vod/${newId}/master.m3u8`)).status).toBe(200);
    expect(await readTitle(stack.store, titleId)).toBeUndefined();
    expect((await fetch(playlist)).status).toBe(410);
    // The same file once more: that title, already published.
    const thrice = await cli(['upload', file, '--ladder', 'fixed']);
    expect(thrice.stdout).toContain(`Title id:     ${newId}`);
    expect(thrice.stdout).toMatch(/^State: +already published/m);
  });

});

/**
 * The S3 object store against a real S3 server — Ceph's RADOS Gateway started by the test
 * (test/helpers/rados-gateway.ts) — and the whole pipeline on it: upload → worker → publish →
 * origin → edge, with no shared folder between them.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { resolveFfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { uploadMaster } from '../../../src/ingest/upload.js';
import { listTitles } from '../../../src/origin/catalog.js';
import { startOriginServer } from '../../../src/origin/origin-server.js';
import { expectedEtag, MULTIPART_PART_BYTES, parseS3Url, S3ObjectStore, s3ClientConfig } from '../../../src/origin/s3-object-store.js';
import { WholeStack } from '../../../src/stack/whole-stack.js';
import { PUBLISH_LAST, PUBLISHED_MARKER, titlePrefixOf } from '../../../src/title/title-address.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { startRadosGateway, type RadosGateway } from '../../helpers/rados-gateway.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const BUCKET = 'vod-test';
let gateway: RadosGateway;

const storeFor = (prefix: string, workDir?: string, cache?: { dir: string; bytes: number }) =>
  new S3ObjectStore({
    bucket: BUCKET,
    prefix,
    client: s3ClientConfig({ endpoint: gateway.endpoint, region: gateway.region, credentials: { accessKeyId: gateway.accessKeyId, secretAccessKey: gateway.secretAccessKey } }),
    ...(workDir ? { workDir } : {}),
    ...(cache ? { cacheDir: cache.dir, cacheBytes: cache.bytes } : {}),
    versionedPrefix: titlePrefixOf,
    inPlaceMarker: PUBLISHED_MARKER,
  });

beforeAll(async () => {
  gateway = await startRadosGateway();
  await storeFor('').client.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
});

const drain = async (stream: NodeJS.ReadableStream): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe('S3ObjectStore on a RADOS Gateway', () => {
  it('puts, stats, reads (ranges too), lists and removes objects; a missing one is undefined', async () => {
    const store = storeFor(`t-${randomBytes(3).toString('hex')}`);
    const dir = await makeTempDir();
    const small = path.join(dir, 'small.bin');
    await fs.writeFile(small, Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256)));
    await store.putFile('vod/a/seg_0.m4s', small);
    await store.putFile('vod/b/x.m3u8', small);
    const st = await store.stat('vod/a/seg_0.m4s');
    expect(st?.sizeBytes).toBe(1000);
    expect(st?.etag).toBe(await expectedEtag(small));
    expect((await store.get('vod/a/seg_0.m4s'))?.length).toBe(1000);
    expect(await drain(store.createReadStream('vod/a/seg_0.m4s', { start: 10, end: 19 }))).toEqual(Buffer.from(Array.from({ length: 10 }, (_, i) => i + 10)));
    expect(await store.list('vod')).toEqual(['a', 'b']);
    expect(await store.list('vod/a')).toEqual(['seg_0.m4s']);
    expect(await store.exists('vod/a')).toBe(true);
    expect(await store.exists('vod/zz')).toBe(false);
    expect(await store.get('vod/a/none')).toBeUndefined();
    expect(await store.stat('vod/a/none')).toBeUndefined();
    await store.remove('vod/a');
    expect(await store.list('vod')).toEqual(['b']);
    expect(() => store.createReadStream('../x')).toThrow(RangeError);
  });

  it('keeps a downloaded object in the local cache for the next job, per version, within its size', async () => {
    const cacheDir = await makeTempDir();
    const store = storeFor(`c-${randomBytes(3).toString('hex')}`, undefined, { dir: cacheDir, bytes: 2500 });
    const dir = await makeTempDir();
    const write = async (name: string, byte: number) => {
      const f = path.join(dir, name);
      await fs.writeFile(f, Buffer.alloc(1000, byte));
      return f;
    };
    await store.putFile('masters/a/master.mp4', await write('a1', 1));
    const first = await store.withLocalFile('masters/a/master.mp4', async (p) => p);
    expect((await fs.readFile(first))[0]).toBe(1); // still there after the job
    expect(await store.withLocalFile('masters/a/master.mp4', async (p) => p)).toBe(first); // no second download
    // A replaced object is a new version: downloaded again, never the stale copy.
    await store.putFile('masters/a/master.mp4', await write('a2', 2));
    const second = await store.withLocalFile('masters/a/master.mp4', async (p) => (await fs.readFile(p))[0]);
    expect(second).toBe(2);
    // 2,500 bytes hold two 1,000-byte copies: a third evicts the least recently used, not one in use.
    await store.putFile('masters/b/master.mp4', await write('b', 3));
    await store.withLocalFile('masters/a/master.mp4', async () => {
      await store.withLocalFile('masters/b/master.mp4', async () => {});
    });
    const left = (await fs.readdir(cacheDir)).filter((n) => !n.includes('.part.'));
    expect(left).toHaveLength(2);
    expect(await fs.stat(first).then(() => true, () => false)).toBe(false); // the old version went first
    await expect(store.withLocalFile('masters/none/master.mp4', async () => {})).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('uploads a large master in parts and checks the multipart ETag', async () => {
    const store = storeFor(`t-${randomBytes(3).toString('hex')}`);
    const big = path.join(await makeTempDir(), 'master.mp4');
    await fs.writeFile(big, randomBytes(2 * MULTIPART_PART_BYTES + 12345));
    await store.putFile('masters/0123456789abcdef/master.mp4', big);
    const st = await store.stat('masters/0123456789abcdef/master.mp4');
    expect(st?.etag).toMatch(/-3"$/);
    expect(st?.etag).toBe(await expectedEtag(big));
    const back = await store.withLocalFile('masters/0123456789abcdef/master.mp4', async (p) => fs.readFile(p));
    expect(back.equals(await fs.readFile(big))).toBe(true);
    await expect(store.withLocalFile('masters/ffffffffffffffff/master.mp4', async () => 1)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('publishes a staged title with its marker last; a second commit loses; a dead attempt is cleaned up', async () => {
    const store = storeFor(`t-${randomBytes(3).toString('hex')}`, await makeTempDir());
    const fill = async (dir: string, tag: string) => {
      await fs.mkdir(path.join(dir, 'video_1'), { recursive: true });
      await fs.writeFile(path.join(dir, 'video_1', 'seg_0.m4s'), `segment ${tag}`);
      await fs.writeFile(path.join(dir, 'master.m3u8'), `#EXTM3U ${tag}`);
      await fs.writeFile(path.join(dir, 'title.json'), `{"tag":"${tag}"}`);
    };
    const first = await store.stage('vod/0000000000000001', { commitLast: PUBLISH_LAST });
    const second = await store.stage('vod/0000000000000001', { commitLast: PUBLISH_LAST });
    await fill(first.dir, 'first');
    await fill(second.dir, 'second');
    expect(await first.commit()).toBe(true);
    expect(await second.commit()).toBe(false);
    expect((await store.get('vod/0000000000000001/title.json'))?.toString()).toBe('{"tag":"first"}');
    expect((await store.get('vod/0000000000000001/video_1/seg_0.m4s'))?.toString()).toBe('segment first');
    // A published title is left alone by the sweep of dead attempts…
    expect(await store.discardStaging('vod/0000000000000001', { commitLast: PUBLISH_LAST })).toBe(0);
    expect(await store.exists('vod/0000000000000001/title.json')).toBe(true);
    // …while a title whose attempt died after uploading segments, before its marker, is cleaned up.
    await store.putFile('vod/0000000000000002/video_1/seg_0.m4s', path.join(await makeTempDir().then(async (d) => { await fs.writeFile(path.join(d, 'f'), 'x'); return d; }), 'f'));
    const dead = await store.stage('vod/0000000000000002', { commitLast: PUBLISH_LAST });
    await fill(dead.dir, 'dead');
    expect(await store.discardStaging('vod/0000000000000002', { commitLast: PUBLISH_LAST })).toBe(2);
    expect(await store.exists('vod/0000000000000002')).toBe(false);
    await expect(fs.access(dead.dir)).rejects.toThrow();
  });

  it('publishes each attempt as its own version: of racing attempts exactly one is visible, whole, and the others leave nothing', async () => {
    const prefix = `z-${randomBytes(3).toString('hex')}`;
    const store = storeFor(prefix, await makeTempDir());
    const title = 'vod/00000000000000a1';
    const attempts = [];
    for (const tag of ['a', 'b', 'c']) {
      const area = await store.stage(title, { commitLast: PUBLISH_LAST });
      for (let i = 0; i < 6; i++) {
        await fs.mkdir(path.join(area.dir, 'video_1'), { recursive: true });
        await fs.writeFile(path.join(area.dir, 'video_1', `seg_${i}.m4s`), `segment ${i} of ${tag}`);
      }
      await fs.writeFile(path.join(area.dir, 'master.m3u8'), `#EXTM3U ${tag}`);
      await fs.writeFile(path.join(area.dir, 'title.json'), `{"tag":"${tag}"}`);
      attempts.push(area);
    }
    // Before any pointer, nothing of the title is readable.
    expect(await store.exists(`${title}/title.json`)).toBe(false);
    // Three attempts (say a zombie whose lock expired and two retries) commit at once.
    const won = await Promise.all(attempts.map((a) => a.commit()));
    expect(won.filter(Boolean)).toHaveLength(1);
    const tag = ['a', 'b', 'c'][won.indexOf(true)]!;
    // Every object read is the winner's: no segment of a loser is mixed in.
    expect((await store.get(`${title}/title.json`))?.toString()).toBe(`{"tag":"${tag}"}`);
    for (let i = 0; i < 6; i++) expect((await store.get(`${title}/video_1/seg_${i}.m4s`))?.toString()).toBe(`segment ${i} of ${tag}`);
    expect(await store.list(title)).toEqual(['master.m3u8', 'title.json', 'video_1']);
    expect((await drain(store.createReadStream(`${title}/video_1/seg_2.m4s`, { start: 0, end: 6 }))).toString()).toBe('segment');
    // Another reader (an origin in another process) sees the same through the pointer.
    const reader = storeFor(prefix);
    expect((await reader.get(`${title}/master.m3u8`))?.toString()).toBe(`#EXTM3U ${tag}`);
    expect(await reader.list('vod')).toEqual(['00000000000000a1']);
    // Only the winner's version is left in the bucket, and a late commit changes nothing.
    const raw = await store.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/${title}/` }));
    const versions = new Set((raw.Contents ?? []).map((o) => o.Key!.split('/')[4]).filter((v) => v && !v.startsWith('.')));
    expect(versions.size).toBe(1);
    const late = await store.stage(title, { commitLast: PUBLISH_LAST });
    await fs.writeFile(path.join(late.dir, 'title.json'), '{"tag":"late"}');
    expect(await late.commit()).toBe(false);
    expect((await reader.get(`${title}/title.json`))?.toString()).toBe(`{"tag":"${tag}"}`);
    // A title published in place before versions (objects at the top, no pointer) still reads.
    const dir = await makeTempDir();
    await fs.writeFile(path.join(dir, 'f'), 'old');
    await store.putFile('vod/00000000000000b2/video_1/seg_0.m4s', path.join(dir, 'f'));
    await store.putFile('vod/00000000000000b2/title.json', path.join(dir, 'f'));
    expect((await storeFor(prefix).get('vod/00000000000000b2/video_1/seg_0.m4s'))?.toString()).toBe('old');
    // Removing a title removes every version and its pointer.
    await store.remove(title);
    expect(await store.exists(`${title}/title.json`)).toBe(false);
    expect((await store.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/${title}/` }))).KeyCount ?? 0).toBe(0);
  });

  it('a title removed (vod remove) and published again reads as its new version in a process that remembered the old pointer', async () => {
    const prefix = `r-${randomBytes(3).toString('hex')}`;
    const store = storeFor(prefix, await makeTempDir());
    const title = 'vod/00000000000000c3';
    const publish = async (tag: string) => {
      const area = await store.stage(title, { commitLast: PUBLISH_LAST });
      await fs.mkdir(path.join(area.dir, 'video_1'), { recursive: true });
      await fs.writeFile(path.join(area.dir, 'video_1', 'seg_0.m4s'), `segment of ${tag}`);
      await fs.writeFile(path.join(area.dir, 'title.json'), `{"tag":"${tag}"}`);
      return area.commit();
    };
    expect(await publish('first')).toBe(true);
    const origin = storeFor(prefix); // another process: it keeps the pointer it read
    expect((await origin.get(`${title}/title.json`))?.toString()).toBe('{"tag":"first"}');
    await store.remove(title);
    expect(await origin.get(`${title}/title.json`)).toBeUndefined();
    expect(await origin.stat(`${title}/video_1/seg_0.m4s`)).toBeUndefined();
    expect(await publish('second')).toBe(true);
    // "Not published" is remembered for UNPUBLISHED_TTL_MS (1 s), as for any title's first publication.
    await expect.poll(async () => (await origin.get(`${title}/title.json`))?.toString(), { timeout: 5_000, interval: 250 }).toBe('{"tag":"second"}');
    expect((await origin.stat(`${title}/video_1/seg_0.m4s`))?.sizeBytes).toBe('segment of second'.length);
    expect((await drain(origin.createReadStream(`${title}/video_1/seg_0.m4s`))).toString()).toBe('segment of second');
  });
});

describe('the pipeline on S3 (no shared folder)', () => {
  it('uploads, encodes, publishes to the bucket and serves the title through the origin and an edge', async () => {
    const prefix = `p-${randomBytes(3).toString('hex')}`;
    const dataDir = await makeTempDir();
    const config = loadConfig({ VOD_DATA_DIR: dataDir, VOD_X264_PRESET: 'ultrafast', VOD_HOST: '127.0.0.1', VOD_STORE_URL: `s3://${BUCKET}/${prefix}` });
    expect(parseS3Url(config.storeUrl!)).toEqual({ bucket: BUCKET, prefix });
    // The worker's store has a staging folder of its own: nothing is shared on disk.
    const store = storeFor(prefix, path.join(dataDir, 'worker-work'));
    const paths = resolveFfmpegPaths(config);
    const stack = await WholeStack.open({ config, store, paths }, { queueName: `s3-${randomBytes(4).toString('hex')}` });
    try {
      await stack.startWorker();
      const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 's3.mp4'), durationS: 4 }, paths);
      const { titleId } = await uploadMaster({ file: master, title: 'On S3', ladder: 'fixed' }, { store, queue: async () => stack.queue, paths });
      const final = await stack.queue.waitUntilFinished(titleId, () => {});
      expect(final.state, final.failedReason).toBe('completed');
      // The origin reads through its own client, as one on another machine would.
      const originStore = storeFor(prefix);
      const titles = await listTitles(originStore);
      expect(titles.map((t) => t.titleId)).toEqual([titleId]);
      const origin = await startOriginServer({ store: originStore, host: '127.0.0.1', port: 0 });
      stack.origin = origin;
      const edge = await stack.startEdge({ cacheBytes: 16 << 20, port: 0 });
      const master3u8 = await fetch(`${edge.url}/vod/${titleId}/master.m3u8`);
      expect(master3u8.status).toBe(200);
      const variant = /^(video_[^\n]+\/index\.m3u8)$/m.exec(await master3u8.text())?.[1];
      expect(variant).toBeDefined();
      const media = await (await fetch(`${edge.url}/vod/${titleId}/${variant}`)).text();
      const segment = /^(seg_\d+\.m4s)$/m.exec(media)?.[1];
      const segUrl = `${edge.url}/vod/${titleId}/${path.posix.dirname(variant!)}/${segment}`;
      const full = await fetch(segUrl);
      expect(full.status).toBe(200);
      const bytes = Buffer.from(await full.arrayBuffer());
      const ranged = await fetch(`${origin.url}/vod/${titleId}/${path.posix.dirname(variant!)}/${segment}`, { headers: { Range: 'bytes=-100' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(bytes.length - 100))).toBe(true);
      // The worker left nothing behind in its local staging folder.
      expect(await fs.readdir(path.join(dataDir, 'worker-work')).catch(() => [])).toEqual([]);
    } finally {
      await stack.stop({ obliterateQueue: true });
    }
  }, 240_000);
});

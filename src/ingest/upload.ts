/**
 * `vod upload`'s work: check the master, name it by content, store it, enqueue its encode.
 * Nothing is stored or queued until the master has passed every check.
 */
import path from 'node:path';
import type { FfmpegPaths } from '../encoder/ffmpeg.js';
import type { ProbeResult } from '../encoder/media-info.js';
import { inspectMaster } from '../encoder/master-check.js';
import { ensureKeySeed, type Protection } from '../keys/content-keys.js';
import { DEFAULT_LADDER_KIND, masterObjectKey, PUBLISHED_MARKER, titleObjectKey, type LadderKind } from '../title/title-address.js';
import type { ObjectStore } from '../origin/object-store.js';
import type { EncodeQueue, EncodeJobState } from './encode-queue.js';
import { titleIdFromFile } from './title-id.js';

export interface UploadRequest {
  /** Path of the master on this machine. */
  readonly file: string;
  /** Human title; default the file name without extension. */
  readonly title?: string;
  /** Bitrate ladder to encode. Default 'per-title'. */
  readonly ladder?: LadderKind;
  /** Encrypt the published segments; the title's key seed is created before the job is queued. */
  readonly protection?: Protection;
}

export interface UploadResult {
  readonly titleId: string;
  readonly title: string;
  readonly probe: ProbeResult;
  /** 'published': already encoded, nothing queued; otherwise the job's state. */
  readonly state: 'published' | EncodeJobState;
  /** True when this upload created the encode job. */
  readonly enqueued: boolean;
}

/**
 * Uploads a master.
 * @throws InvalidMasterError (nothing stored or queued) when the file cannot be encoded;
 *         whatever `deps.queue` throws (an unreachable Redis) before the master is stored.
 */
export async function uploadMaster(
  request: UploadRequest,
  deps: {
    store: ObjectStore;
    /** Opens the queue; called only once the master has passed its checks and is not yet published. */
    queue: () => Promise<EncodeQueue>;
    paths: FfmpegPaths;
    onHashProgress?: (bytes: number) => void;
  },
): Promise<UploadResult> {
  const probe = await inspectMaster(request.file, deps.paths);
  const fileName = path.basename(request.file);
  const title = (request.title ?? path.parse(fileName).name).trim() || fileName;
  const titleId = await titleIdFromFile(request.file, deps.onHashProgress);

  if (await deps.store.exists(titleObjectKey(titleId, PUBLISHED_MARKER))) {
    return { titleId, title, probe, state: 'published', enqueued: false };
  }
  const queue = await deps.queue();
  const key = masterObjectKey(titleId, fileName);
  if (!(await deps.store.exists(key))) await deps.store.putFile(key, request.file);
  if (request.protection) await ensureKeySeed(deps.store, titleId);
  const { created, state } = await queue.enqueue({
    titleId,
    title,
    masterKey: key,
    masterFileName: fileName,
    ladder: request.ladder ?? DEFAULT_LADDER_KIND,
    uploadedAt: new Date().toISOString(),
    ...(request.protection ? { protection: request.protection } : {}),
  });
  return { titleId, title, probe, state, enqueued: created };
}

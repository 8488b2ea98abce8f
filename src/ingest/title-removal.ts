/**
 * Taking a title down (`vod remove`): the reverse of upload and publish. What an operator needs
 * when rights expire, a takedown request arrives, or a title must be encoded again with other
 * settings (an upload of a published master does nothing: the title id is the file's hash).
 *
 * Order, so that a failure part-way leaves nothing half-published: the encode job first (a
 * title a worker holds is refused before anything is touched; a queued one is cancelled so no
 * worker publishes it again), then — for a title that was published — the marker that retires
 * its id (`removed/<id>`: the same master uploaded again is published under a new id, since
 * caches may keep the old segments, served `immutable`, for a year), then the published folder
 * (the filesystem store moves it aside in one rename before deleting it; the S3 store deletes its
 * pointer first, so the title reads as absent before its objects go), then the content keys, a chunked flow's work files and — unless kept — the
 * master and its subtitle files. Edges are purged by the caller (`vod remove --edge`).
 */
import { readRemovedMarker, readTitle, type RemovedMarker } from '../origin/catalog.js';
import type { ObjectStore } from '../origin/object-store.js';
import { KEYS_PREFIX } from '../keys/content-keys.js';
import { isTitleId, MASTERS_PREFIX, PUBLISHED_MARKER, removedMarkerKey, titleKeyPrefix, titleObjectKey } from '../title/title-address.js';
import { UserError } from '../util/errors.js';
import { JobBusyError, type EncodeJobState, type EncodeQueue } from './encode-queue.js';
import { putJson, workPrefix } from './flow-store.js';
import { reissuedTitleId } from './title-id.js';

/** Writes `removed/<titleId>` (JSON: id, name, time), which retires the id (title-id.ts currentTitleId). */
async function writeRemovedMarker(store: ObjectStore, titleId: string, title: string | undefined): Promise<void> {
  await putJson(store, removedMarkerKey(titleId), { titleId, title, removedAt: new Date().toISOString() } satisfies RemovedMarker);
}

/** What `removeTitle` did. */
export interface TitleRemoval {
  readonly titleId: string;
  /** The title's name, from its record or its job, when either had one. */
  readonly title: string | undefined;
  /** The title was published and is not any more. */
  readonly unpublished: boolean;
  /** The state of the encode job that was removed (a 'waiting' or 'delayed' one was cancelled), or undefined when there was none. */
  readonly removedJobState: EncodeJobState | undefined;
  /** The uploaded master (and subtitle files) were deleted. */
  readonly removedMaster: boolean;
  /** The master was there and kept (`keepMaster`). */
  readonly keptMaster: boolean;
}

/**
 * No published title, stored master or encode job has this id (exit 2). Its message says when a
 * title of that id was removed, and the id its master takes if uploaded again.
 */
export class TitleNotFoundError extends UserError {
  constructor(titleId: string, removed?: RemovedMarker) {
    super(
      removed
        ? `Title ${titleId}${removed.title ? ` (${removed.title})` : ''} was removed at ${removed.removedAt} (vod remove); its master uploaded again gets the id ${reissuedTitleId(titleId)}.`
        : `No upload or published title has the id ${titleId}.`,
      { exitCode: 2 },
    );
    this.name = 'TitleNotFoundError';
  }
}

/** The error for an id nothing has: TitleNotFoundError, saying so when the title was removed. */
export async function titleNotFound(store: ObjectStore, titleId: string): Promise<TitleNotFoundError> {
  return new TitleNotFoundError(titleId, await readRemovedMarker(store, titleId));
}

/** The title is being encoded now (exit 1: try again once the job has ended). */
export class TitleBusyError extends UserError {
  constructor(cause: JobBusyError) {
    super(`Title ${cause.titleId} is being encoded (${cause.message}); nothing was removed: wait until \`vod status ${cause.titleId}\` says completed or failed, then remove it.`, { exitCode: 1, cause });
    this.name = 'TitleBusyError';
  }
}

/**
 * Removes a title: its encode job, its published folder (playlists, segments, title record,
 * ladder report, thumbnails), its content keys, a chunked flow's work files and, unless
 * `keepMaster`, its master and subtitle files. Afterwards the same master can be uploaded again;
 * if the title was published, it then gets a new id (the old one is retired by a marker).
 * @param titleId 16 hex digits (title-address.ts).
 * @param deps.queue the encode queue the title's job would be in.
 * @throws UserError (exit 2) for an id that is not a title id; TitleNotFoundError when nothing
 *         has the id; TitleBusyError when a worker holds its job (nothing is removed then);
 *         whatever the store or Redis throw (the steps already done stay done: each is whole).
 */
export async function removeTitle(titleId: string, deps: { store: ObjectStore; queue: EncodeQueue }, options: { keepMaster?: boolean } = {}): Promise<TitleRemoval> {
  if (!isTitleId(titleId)) throw new UserError(`${titleId} is not a title id (16 hex digits, as vod status lists them).`);
  const { store, queue } = deps;
  const published = await store.exists(titleObjectKey(titleId, PUBLISHED_MARKER));
  // A record that no longer parses is removed all the same; its name is then unknown.
  const record = published ? await readTitle(store, titleId).catch(() => undefined) : undefined;
  const master = await store.exists(`${MASTERS_PREFIX}/${titleId}`);
  const job = await queue.status(titleId);
  const leftovers = (await store.exists(`${KEYS_PREFIX}/${titleId}`)) || (await store.exists(workPrefix(titleId))) || (await store.exists(titleKeyPrefix(titleId)));
  if (!published && !master && !job && !leftovers) throw await titleNotFound(store, titleId);

  let removedJobState: EncodeJobState | undefined;
  try {
    removedJobState = await queue.removeJob(titleId);
  } catch (err) {
    if (err instanceof JobBusyError) throw new TitleBusyError(err);
    throw err;
  }
  // The marker before the folder: should the removal stop between them, the id is retired
  // already (a second `vod remove` finishes the rest).
  if (published) await writeRemovedMarker(store, titleId, record?.title);
  await store.remove(titleKeyPrefix(titleId));
  await store.remove(`${KEYS_PREFIX}/${titleId}`);
  await store.remove(workPrefix(titleId));
  if (master && !options.keepMaster) await store.remove(`${MASTERS_PREFIX}/${titleId}`);
  return {
    titleId,
    title: record?.title ?? job?.title,
    unpublished: published,
    removedJobState,
    removedMaster: master && !options.keepMaster,
    keptMaster: master && Boolean(options.keepMaster),
  };
}

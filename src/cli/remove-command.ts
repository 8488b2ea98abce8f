/**
 * `vod remove`: takes titles down (ingest/title-removal.ts) and purges them from edges.
 */
import { EncodeQueue } from '../ingest/encode-queue.js';
import { ensureRedis } from '../ingest/redis-server.js';
import { removeTitle, type TitleRemoval } from '../ingest/title-removal.js';
import { UserError } from '../util/errors.js';
import type { CliContext } from './context.js';
import { callAdmin } from './edge-commands.js';
import { readServeRecord } from './serve-record.js';

export interface RemoveFlags {
  readonly keepMaster?: boolean;
  /** Edges to purge the titles from; empty: the edge of a `vod serve` running on this data folder, if any. */
  readonly edge?: readonly string[] | undefined;
  readonly adminToken?: string;
}

/** One line of what was removed, e.g. `Removed 6d4a42d3b990eb4c (subs): unpublished, encode job (completed) dropped, master deleted`. */
export function removalLine(r: TitleRemoval): string {
  const parts = [
    r.unpublished ? 'unpublished' : 'was not published',
    ...(r.removedJobState ? [r.removedJobState === 'waiting' || r.removedJobState === 'delayed' || r.removedJobState === 'prioritized' ? `queued encode cancelled` : `encode job (${r.removedJobState}) dropped`] : []),
    r.removedMaster ? 'master deleted' : r.keptMaster ? 'master kept' : 'no master stored',
  ];
  return `Removed ${r.titleId}${r.title ? ` (${r.title})` : ''}: ${parts.join(', ')}`;
}

/**
 * Removes each title in turn — a refused one (unknown id, being encoded) is reported on its own
 * line and the others go on — then purges the removed ones from every edge. One title refused
 * ends with its own error.
 * @throws UserError: exit 2 when an id was wrong, 1 when a title was busy or an edge could not be purged.
 */
export async function runRemove(ctx: CliContext, titleIds: readonly string[], opts: RemoveFlags): Promise<void> {
  const edges = opts.edge?.length ? opts.edge : [readServeRecord(ctx.config.dataDir)?.edgeUrl].filter((u): u is string => u !== undefined);
  const redis = await ensureRedis(ctx.config, ctx.log);
  const queue = new EncodeQueue(redis, ctx.config, ctx.config.queueName);
  const removed: TitleRemoval[] = [];
  const refusals: UserError[] = [];
  try {
    for (const id of titleIds) {
      try {
        const r = await removeTitle(id, { store: ctx.store, queue }, { keepMaster: opts.keepMaster });
        removed.push(r);
        process.stdout.write(`${removalLine(r)}\n`);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        if (titleIds.length === 1) throw err;
        refusals.push(err);
        process.stderr.write(`vod: ${err.message}\n`);
      }
    }
  } finally {
    await queue.close();
  }
  let unpurged = 0;
  for (const edge of removed.length > 0 ? edges : []) {
    let objects = 0;
    try {
      for (const r of removed) objects += ((await callAdmin(ctx, edge, '/admin/purge', { titleId: r.titleId }, opts.adminToken)) as { removed: number }).removed;
      process.stdout.write(`Purged ${objects} cached objects from ${edge}\n`);
    } catch (err) {
      unpurged += 1;
      process.stderr.write(`vod: ${(err as Error).message} It may serve cached copies until they expire; purge it with vod edge purge --edge ${edge} --title ID.\n`);
    }
  }
  if (removed.length > 0 && edges.length === 0) process.stdout.write('No edge purged (none given with --edge, and no vod serve runs on this data folder): edges serve cached copies until they expire.\n');
  if (refusals.length > 0 || unpurged > 0) {
    const exitCode = refusals.some((e) => e.exitCode === 2) ? 2 : 1;
    throw new UserError(`${removed.length} of ${titleIds.length} titles removed${unpurged ? `; ${unpurged} edge(s) not purged` : ''}.`, { exitCode });
  }
}

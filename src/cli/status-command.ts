/**
 * `vod status`: the encode jobs and published titles, or one title with its child jobs (trial
 * groups, chunks, the workers holding them), once or redrawn until the title's job ends.
 */
import { listTitles, type TitleRecord } from '../origin/catalog.js';
import { EncodeQueue, type ChildJobStatus } from '../ingest/encode-queue.js';
import { ensureRedis } from '../ingest/redis-server.js';
import { titleNotFound } from '../ingest/title-removal.js';
import { firstLine, titleUrls, untilSignal } from './commands.js';
import type { CliContext } from './context.js';

/**
 * `vod status [title] [--json] [--watch [s]]`: the encode jobs and published titles, or one
 * title with its child jobs. With `watch` the report is redrawn every `watch` seconds (the screen
 * cleared on a terminal; with `json`, one compact JSON object per line with the poll time `at`)
 * until the title's job has completed or failed, or until Ctrl-C; without a title, until Ctrl-C.
 * @throws UserError when the title id is neither queued nor published, or Redis is unreachable.
 */
export async function runStatus(ctx: CliContext, titleId: string | undefined, opts: { json?: boolean; watch?: number }): Promise<void> {
  const redis = await ensureRedis(ctx.config, ctx.log);
  const queue = new EncodeQueue(redis, ctx.config, ctx.config.queueName);
  try {
    if (opts.watch === undefined) {
      process.stdout.write(`${(await statusReport(ctx, queue, titleId, opts.json ? 'pretty' : undefined)).text}\n`);
      return;
    }
    const stop = untilSignal();
    let stopped = false;
    void stop.then(() => (stopped = true));
    const clear = !opts.json && process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
    for (;;) {
      const report = await statusReport(ctx, queue, titleId, opts.json ? 'line' : undefined);
      process.stdout.write(`${clear}${report.text}\n${opts.json || clear ? '' : '\n'}`);
      if (report.finished || stopped) return;
      // unref: after Ctrl-C the pending redraw must not hold the exit back.
      await Promise.race([stop, new Promise((r) => setTimeout(r, opts.watch! * 1000).unref())]);
      if (stopped) return;
    }
  } finally {
    await queue.close();
  }
}

/**
 * One `vod status` report: `json` 'pretty' (indented) or 'line' (one line, with the poll start time
 * `at`), a table otherwise. `finished` tells a watch to stop: the title's job completed or failed.
 * @throws TitleNotFoundError (a UserError) when the title id is neither queued nor published; it says when a title of that id was removed.
 */
async function statusReport(ctx: CliContext, queue: EncodeQueue, titleId: string | undefined, json: 'pretty' | 'line' | undefined): Promise<{ text: string; finished: boolean }> {
  const at = new Date().toISOString();
  const asJson = (value: object) => (json === 'line' ? JSON.stringify({ at, ...value }) : JSON.stringify(value, null, 2));
  const published = await listTitles(ctx.store);
  if (titleId) {
    const job = await queue.status(titleId);
    const record = published.find((t) => t.titleId === titleId);
    if (!job && !record) throw await titleNotFound(ctx.store, titleId);
    const children = job?.children ? await queue.children(titleId) : [];
    const finished = !job || job.state === 'completed' || job.state === 'failed';
    if (json) return { text: asJson({ job, children, published: record ?? null }), finished };
    const lines = [`Title id:  ${titleId}`, `Title:     ${record?.title ?? job?.title}`];
    if (record) {
      lines.push(
        `Published: ${record.publishedAt} (${record.renditions.length} renditions, encode ${record.encodeTimeS.toFixed(1)} s)`,
        `Ladder:    ${record.ladder}${record.qualityMetric ? `, quality measured with ${record.qualityMetric.toUpperCase()}` : ''}`,
        ...tracksLines(record),
        `Playback:  ${titleUrls(ctx, titleId).playbackUrl}`,
      );
    }
    if (job) {
      lines.push(`Job state: ${job.state}${job.progress ? ` (${job.progress.stage} ${job.progress.percent.toFixed(1)}%${job.progress.rendition ? `, ${job.progress.rendition}` : ''})` : ''}`);
      lines.push(`Attempts:  ${job.attemptsStarted}/${job.attempts} started${job.stalls ? ` (${job.stalls} ended with the worker dying)` : ''}`);
      if (job.failedReason) lines.push(`Failure:   ${job.failedReason.split('\n').join('\n           ')}`);
      if (children.length > 0) lines.push(...childLines(children));
    }
    return { text: lines.join('\n'), finished };
  }
  const jobs = await queue.list();
  if (json) return { text: asJson({ jobs, published }), finished: false };
  const rows = jobs.map((j) => [
    j.titleId,
    j.state,
    `${j.progress ? `${j.progress.percent.toFixed(0)}% ${j.progress.stage}` : ''}${j.children ? ` (${j.children.done}/${j.children.total} ${j.flowStep === 'analyze' ? 'analysis' : 'child'} jobs)` : ''}`,
    `${j.attemptsStarted}/${j.attempts}`,
    j.title.slice(0, 30),
    firstLine(j.failedReason ?? '').replace('unknown reason', '').slice(0, 60),
  ]);
  const titles = published.map((t) => [t.titleId, t.ladder, String(t.renditions.filter((r) => r.kind === 'video').length), `${t.durationS.toFixed(1)} s`, t.title]);
  return {
    text: `Jobs (${rows.length}):\n${table(['TITLE ID', 'STATE', 'PROGRESS', 'TRIES', 'TITLE', 'FAILURE'], rows)}\nPublished titles (${published.length}):\n${table(['TITLE ID', 'LADDER', 'RENDITIONS', 'DURATION', 'TITLE'], titles)}`,
    finished: false,
  };
}

/** Most unfinished child jobs listed one per line by `vod status <id>`. */
const MAX_CHILD_LINES = 20;

/** `Audio:` and `Subtitles:` lines of a published title: each track's name, language, channels and codec. */
function tracksLines(record: TitleRecord): string[] {
  const audio = record.renditions.flatMap((r) => (r.kind === 'audio' ? [`${r.name ?? 'Main'}${r.language ? ` (${r.language})` : ''} ${r.channels} ch ${r.codecs}${r.isDefault ? ', default' : ''}`] : []));
  const subtitles = (record.subtitles ?? []).map((t) => `${t.name}${t.language ? ` (${t.language})` : ''}${t.isForced ? ', forced' : ''}${t.isDefault ? ', default' : ''}`);
  return [...(audio.length > 0 ? [`Audio:     ${audio.join('; ')}`] : []), ...(subtitles.length > 0 ? [`Subtitles: ${subtitles.join('; ')}`] : [])];
}

/**
 * A chunked title's children for `vod status <id>`: done / in all, each worker's share and what
 * it holds now, then the unfinished children (running first).
 */
function childLines(children: readonly ChildJobStatus[]): string[] {
  const done = children.filter((c) => c.state === 'completed').length;
  const running = children.filter((c) => c.state === 'active');
  const label = (c: ChildJobStatus) => (c.kind === 'audio' ? (c.rendition ?? 'audio') : c.kind === 'trials' ? `trials ${c.rendition}` : `${c.rendition ? `${c.rendition} ` : ''}chunk ${c.chunkIndex}`);
  const trials = children.filter((c) => c.kind === 'trials');
  const trialsDone = trials.filter((c) => c.state === 'completed').length;
  const lines = [
    ...(trials.length > 0 ? [`Analysis:  ${trialsDone}/${trials.length} trial jobs done`] : []),
    `Chunks:    ${done - trialsDone}/${children.length - trials.length} child jobs done, ${running.length} running`,
  ];
  const byWorker = new Map<string, { done: number; holds: ChildJobStatus[] }>();
  for (const c of children) {
    if (!c.worker || (c.state !== 'completed' && c.state !== 'active')) continue;
    const w = byWorker.get(c.worker) ?? { done: 0, holds: [] };
    if (c.state === 'completed') w.done += 1;
    else w.holds.push(c);
    byWorker.set(c.worker, w);
  }
  for (const [name, w] of [...byWorker].sort(([a], [b]) => a.localeCompare(b))) {
    const holds = w.holds.map((c) => `${label(c)}${c.progress ? ` ${c.progress.stage} ${c.progress.percent.toFixed(0)}%` : ''}`);
    lines.push(`  worker ${name}: ${w.done} done${holds.length ? `; holds ${holds.join(', ')}` : ''}`);
  }
  const open = children.filter((c) => c.state !== 'completed').sort((a, b) => Number(b.state === 'active') - Number(a.state === 'active'));
  if (open.length > 0) {
    const rows = open.slice(0, MAX_CHILD_LINES).map((c) => [label(c), c.state, c.worker && c.state === 'active' ? c.worker : '', String(c.attemptsStarted)]);
    lines.push(...table(['  CHILD', 'STATE', 'WORKER', 'STARTS'], rows.map((r) => [`  ${r[0]}`, ...r.slice(1)])).split('\n'));
    if (open.length > MAX_CHILD_LINES) lines.push(`  … and ${open.length - MAX_CHILD_LINES} more`);
  }
  return lines;
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

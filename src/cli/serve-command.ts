/**
 * `vod serve` (everything on one machine) and `vod demo` (serve + upload the shared clips).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import type { EdgePolicyName } from '../edge-cache/memory-tier.js';
import { startWholeStack, type WholeStack } from '../stack/whole-stack.js';
import { UserError } from '../util/errors.js';
import { titleUrls, untilSignal, uploadAndWait, wrapListenError } from './commands.js';
import type { CliContext } from './context.js';
import { removeServeRecord, viewerUrl, writeServeRecord } from './serve-record.js';

export interface ServeOptions {
  originPort?: number;
  edgePort?: number;
  cacheBytes: number;
  /** Eviction policy of the edge's memory tier. */
  policy: EdgePolicyName;
  concurrency: number;
}

/** The shared Big Buck Bunny clip `vod demo` uploads first. */
export const DEMO_CLIP = 'bbb_anim_1280x720_24fps_10s_aac.mp4';
const DEMO_TITLES: Record<string, string> = {
  'bbb_anim_1280x720_24fps_10s_aac.mp4': 'Big Buck Bunny',
  'intel_liveaction_car_detection_768x432_12.5fps_30s_aac.mp4': 'Car Detection (Intel)',
  'tos_liveaction_battle_800x332_24fps_70s_vp8_vorbis.webm': 'Tears of Steel (battle)',
};

/** Starts the whole stack with the CLI's settings; a taken port becomes a user error. */
async function startStack(ctx: CliContext, opts: ServeOptions): Promise<WholeStack> {
  return startWholeStack(
    { config: ctx.config, store: ctx.store, paths: ctx.paths, log: ctx.log },
    {
      worker: { concurrency: opts.concurrency },
      ...(opts.originPort !== undefined ? { origin: { port: opts.originPort } } : {}),
      edge: { cacheBytes: opts.cacheBytes, policy: opts.policy, ...(opts.edgePort !== undefined ? { port: opts.edgePort } : {}) },
    },
  ).catch(wrapListenError);
}

function printStack(stack: WholeStack): void {
  const origin = stack.origin!;
  const edge = stack.edge!;
  process.stdout.write(
    [
      `Redis:   ${stack.redis.description}${stack.redis.startedHere ? ' (started here)' : ''}`,
      `Origin:  ${origin.url}`,
      `Edge:    ${edge.url} (policy ${edge.edge.memory.policyName}; metrics: ${edge.url}/metrics)`,
      `Player:  ${edge.url}/player/`,
      stack.keys ? `Keys:    ${stack.keys.url}/keys/ (encrypted titles; tokens signed with VOD_SIGNING_KEY)` : 'Keys:    not served (set VOD_SIGNING_KEY to serve the keys of encrypted titles)',
      '',
    ].join('\n'),
  );
}

/** Tells `vod upload` / `vod status` on this data folder where this stack's edge is (serve-record.ts); best effort. */
function recordStack(ctx: CliContext, stack: WholeStack): void {
  try {
    writeServeRecord(ctx.config.dataDir, { edgeUrl: stack.edge!.url, originUrl: stack.origin!.url });
  } catch (err) {
    ctx.log.warn({ err: String(err) }, 'could not record where this stack serves; vod upload will print URLs on VOD_EDGE_URL');
  }
}

export async function runServe(ctx: CliContext, opts: ServeOptions): Promise<void> {
  const stack = await startStack(ctx, opts);
  try {
    recordStack(ctx, stack);
    printStack(stack);
    process.stdout.write('Upload with: vod upload FILE --title "Name"   (Ctrl-C stops everything)\n');
    await untilSignal();
  } finally {
    removeServeRecord(ctx.config.dataDir);
    await stack.stop();
  }
}

export async function runDemo(ctx: CliContext, opts: ServeOptions & { all?: boolean; media?: string; exit?: boolean }): Promise<void> {
  const mediaDir = path.resolve(opts.media ?? path.join(PROJECT_ROOT, '..', 'shared', 'media'));
  const names = opts.all ? Object.keys(DEMO_TITLES) : [DEMO_CLIP];
  for (const name of names) {
    try {
      await fs.access(path.join(mediaDir, name));
    } catch {
      throw new UserError(`The demo clip ${name} is not in ${mediaDir}; pass --media DIR with the shared media folder.`);
    }
  }
  const stack = await startStack(ctx, opts);
  // Printed URLs point at the edge this demo started.
  const demoCtx: CliContext = { ...ctx, config: { ...ctx.config, publicEdgeUrl: viewerUrl(stack.edge!.url) } };
  try {
    recordStack(ctx, stack);
    printStack(stack);
    const uploaded: string[] = [];
    for (const name of names) {
      uploaded.push((await uploadAndWait(demoCtx, path.join(mediaDir, name), { title: DEMO_TITLES[name], wait: true }, { redis: stack.redis, queue: stack.queue })).titleId);
    }
    process.stdout.write(`\nWatch it: ${titleUrls(demoCtx, uploaded[0]!).playerUrl}\n`);
    if (opts.exit) return;
    process.stdout.write('Serving until Ctrl-C.\n');
    await untilSignal();
  } finally {
    removeServeRecord(ctx.config.dataDir);
    await stack.stop();
  }
}

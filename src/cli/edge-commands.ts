/**
 * Edge operations from the command line: prefill, purge, URL signing, and the steering service.
 */
import net from 'node:net';
import { startSteeringServer } from '../edge-cache/steering.js';
import { vodKeyFromPath } from '../http/http-object.js';
import { signedPath } from '../http/url-signing.js';
import { isTitleId, titleIdOfPath, VOD_PATH_PREFIX } from '../title/title-address.js';
import { UserError } from '../util/errors.js';
import { untilSignal, wrapListenError } from './commands.js';
import type { CliContext } from './context.js';

/**
 * POSTs a JSON body to an edge's admin route (`/admin/purge`, `/admin/prefill`) with the admin
 * token (the flag's, else VOD_ADMIN_TOKEN; none: the edge takes loopback clients only).
 * @returns the edge's JSON answer.
 * @throws UserError (exit 1) when the edge cannot be reached or refuses.
 */
export async function callAdmin(ctx: CliContext, edge: string, route: string, body: unknown, adminToken: string | undefined): Promise<unknown> {
  const token = adminToken ?? ctx.config.adminToken;
  let res: Response;
  try {
    res = await fetch(`${edge}${route}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new UserError(`Cannot reach the edge at ${edge}: ${(err as Error).message}.`, { exitCode: 1 });
  }
  const json = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new UserError(`The edge refused ${route}: ${json.error ?? res.status}.`, { exitCode: 1 });
  return json;
}

export async function runPrefill(ctx: CliContext, opts: { edge: string; titles: number; source: string; adminToken?: string }): Promise<void> {
  process.stderr.write(`prefilling up to ${opts.titles} titles (${opts.source}) on ${opts.edge}…\n`);
  const r = (await callAdmin(ctx, opts.edge, '/admin/prefill', { titles: opts.titles, source: opts.source }, opts.adminToken)) as { titles: string[]; objects: number; bytes: number; failures: number };
  process.stdout.write(`Filled ${r.objects} objects (${r.bytes} bytes) of ${r.titles.length} titles${r.failures ? `, ${r.failures} failed` : ''}: ${r.titles.join(', ') || '(none)'}\n`);
}

export async function runPurge(ctx: CliContext, opts: { edge: string; title?: string; path?: string; adminToken?: string }): Promise<void> {
  if (!opts.title && !opts.path) throw new UserError('Give --title ID or --path /vod/....');
  if (opts.title && !isTitleId(opts.title)) throw new UserError(`--title: ${opts.title} is not a title id (16 hex digits).`);
  const r = (await callAdmin(ctx, opts.edge, '/admin/purge', { ...(opts.title ? { titleId: opts.title } : {}), ...(opts.path ? { path: opts.path } : {}) }, opts.adminToken)) as { removed: number };
  process.stdout.write(`Removed ${r.removed} objects from ${opts.edge}\n`);
}

export async function runSign(ctx: CliContext, opts: { path: string; prefix?: string; ttl: number; ip?: string; key?: string; edge?: string }): Promise<void> {
  const key = opts.key ?? ctx.config.signingKey;
  if (!key) throw new UserError('Give the signing key with --key or VOD_SIGNING_KEY.');
  if (!opts.path.startsWith(VOD_PATH_PREFIX)) throw new UserError(`--path must start with ${VOD_PATH_PREFIX}.`);
  // A token for a path no edge serves would only fail later, at the player (the edge's own check).
  const target = vodKeyFromPath(opts.path);
  if (!target.ok) throw new UserError(`--path ${opts.path} is not a path an edge serves (${target.reason}).`);
  if (!isTitleId(titleIdOfPath(opts.path))) throw new UserError(`--path ${opts.path} does not name a title: /vod/<title id, 16 hex digits>/...`);
  if (opts.ip !== undefined && net.isIP(opts.ip) === 0) throw new UserError(`--ip ${opts.ip} is not an IPv4 or IPv6 address.`);
  const prefix = opts.prefix ?? opts.path.slice(0, opts.path.lastIndexOf('/') + 1);
  if (!opts.path.startsWith(prefix)) throw new UserError('--prefix must be a prefix of --path.');
  const expiresAtS = Math.floor(Date.now() / 1000) + opts.ttl;
  const p = signedPath(opts.path, { pathPrefix: prefix, expiresAtS, ...(opts.ip ? { clientIp: opts.ip } : {}) }, key);
  process.stdout.write(`${opts.edge ?? ''}${p}\n`);
}

export async function runSteer(ctx: CliContext, opts: { edges: string[]; replicas: number; signingKey?: string; healthInterval: number; port: number; host?: string }): Promise<void> {
  const signingKey = opts.signingKey ?? ctx.config.signingKey;
  const server = await startSteeringServer({
    edges: opts.edges,
    replicas: opts.replicas,
    healthIntervalMs: opts.healthInterval,
    ...(signingKey ? { signingKey } : {}),
    log: ctx.log,
    host: opts.host ?? ctx.config.host,
    port: opts.port,
  }).catch(wrapListenError);
  process.stdout.write(`Steering ${opts.edges.length} edges at ${server.url}: GET /play/<title>, /play/<title>/master.m3u8, /steering/<title>\n`);
  await untilSignal();
  await server.close();
}

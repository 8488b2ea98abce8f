/**
 * Steering, the control plane's choice of edge per title and client (Open Connect's
 * steering service in miniature): `vod steer` health-checks a set of edges and answers
 * - `GET /play/<title>`: the healthy edges ranked for this title, with signed playback URLs;
 * - `GET /play/<title>/master.m3u8`: the title's multivariant playlist with one HLS Content
 *   Steering pathway per edge (absolute, signed URIs; PATHWAY-ID on every variant), so hls.js
 *   moves to the next edge when one fails;
 * - `GET /steering/<title>`: the steering manifest, `{"VERSION":1,"TTL":…,"PATHWAY-PRIORITY":[…]}`
 *   (Apple, "HLS Content Steering Specification" v1.2, §4).
 * Titles are placed on edges by rendezvous hashing (Thaler & Ravishankar, "Using Name-Based
 * Mappings to Increase Hit Rates", IEEE/ACM ToN 6(1), 1998): each title ranks every edge by
 * hash(title, edge) and is served by the top `replicas`, so caches hold different titles and
 * adding or removing one of N edges moves only about 1/N of the titles.
 */
import { createHash } from 'node:crypto';
import express from 'express';
import HLS from 'hls-parser';
import { writeMultivariantPlaylist, type AudioRenditionEntry, type IFrameStreamEntry, type SubtitleRenditionEntry, type VariantStreamEntry } from '../encoder/hls-packager.js';
import { corsMiddleware } from '../http/cors.js';
import { listen, type RunningServer } from '../http/listen.js';
import { isTitleId, MULTIVARIANT_PLAYLIST_NAME, titleObjectPath, titlePathPrefix } from '../title/title-address.js';
import { jsonErrorHandler } from '../http/error-answers.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { signedPath } from '../http/url-signing.js';

/** Rendezvous score of an edge for a title: the first 48 bits of SHA-256(title | edge). */
export function rendezvousScore(titleId: string, edge: string): number {
  return createHash('sha256').update(`${titleId}|${edge}`).digest().readUIntBE(0, 6);
}

/** Edges ranked for a title, best first (highest rendezvous score; ties by name). */
export function rankEdges(titleId: string, edges: readonly string[]): string[] {
  return edges
    .map((e) => ({ e, s: rendezvousScore(titleId, e) }))
    .sort((a, b) => b.s - a.s || a.e.localeCompare(b.e))
    .map((x) => x.e);
}

export interface SteeringOptions {
  /** Edge base URLs. */
  readonly edges: readonly string[];
  /** Edges that serve each title first (the rest follow as fall-backs). Default 2. */
  readonly replicas?: number;
  /** HMAC key for playback tokens; URLs are unsigned without it. */
  readonly signingKey?: string;
  /** Token lifetime, seconds. Default 6 hours. */
  readonly tokenTtlS?: number;
  /** Health-check period, ms. Default 1000. */
  readonly healthIntervalMs?: number;
  /** Consecutive failed checks that take an edge out of the ranking. Default 2. */
  readonly failThreshold?: number;
  /** Steering manifest TTL (seconds) sent to players. Default 10. */
  readonly steeringTtlS?: number;
  /** Public base URL of this service (for SERVER-URI); default the URL it listens on. */
  readonly publicUrl?: string;
  readonly log?: Logger;
}

interface EdgeHealth {
  readonly url: string;
  readonly pathwayId: string;
  failures: number;
  alive: boolean;
}

export class SteeringService {
  private readonly edges: EdgeHealth[];
  private readonly options: SteeringOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  publicUrl = '';

  /** @throws TypeError for an edge that is not an http(s) URL, an edge listed twice, or no edges. */
  constructor(options: SteeringOptions) {
    if (options.edges.length === 0) throw new TypeError('steering needs at least one edge (--edges)');
    this.options = options;
    this.log = options.log ?? silentLogger;
    const seen = new Set<string>();
    this.edges = options.edges.map((u, i) => {
      const url = new URL(u);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`edge must be an http(s) URL, got ${u}`);
      const base = url.href.replace(/\/+$/, '');
      if (seen.has(base)) throw new TypeError(`edge ${u} is listed twice`);
      seen.add(base);
      // Edges start alive; the first checks confirm or remove them within failThreshold periods.
      return { url: base, pathwayId: `edge${i + 1}`, failures: 0, alive: true };
    });
  }

  /** Runs one round of health checks (GET /healthz, timeout 80% of the period). */
  async checkHealth(): Promise<void> {
    const timeoutMs = Math.max(200, Math.floor((this.options.healthIntervalMs ?? 1000) * 0.8));
    await Promise.all(
      this.edges.map(async (e) => {
        let ok = false;
        try {
          const res = await fetch(`${e.url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
          ok = res.ok;
          await res.body?.cancel();
        } catch {
          ok = false;
        }
        if (ok) {
          if (!e.alive) this.log.info({ edge: e.url }, 'edge is back');
          e.failures = 0;
          e.alive = true;
        } else if (++e.failures >= (this.options.failThreshold ?? 2) && e.alive) {
          e.alive = false;
          this.log.warn({ edge: e.url }, 'edge is down: removed from the ranking');
        }
      }),
    );
  }

  start(): void {
    const tick = () => {
      this.checkHealth()
        .catch(() => {})
        .finally(() => {
          this.timer = setTimeout(tick, this.options.healthIntervalMs ?? 1000);
          this.timer.unref();
        });
    };
    tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** Healthy edges for a title: the rendezvous order, over live edges only. */
  ranked(titleId: string): EdgeHealth[] {
    const alive = this.edges.filter((e) => e.alive);
    const order = rankEdges(titleId, alive.map((e) => e.url));
    return order.map((u) => alive.find((e) => e.url === u)!);
  }

  /** URL path of a title's file, signed for the whole title folder when a signing key is set. */
  private playbackPath(titleId: string, name: string): string {
    const path = titleObjectPath(titleId, name);
    if (!this.options.signingKey) return path;
    return signedPath(path, { pathPrefix: titlePathPrefix(titleId), expiresAtS: Math.floor(Date.now() / 1000) + (this.options.tokenTtlS ?? 6 * 3600) }, this.options.signingKey);
  }

  /**
   * The content-steered multivariant playlist for a title, built from the first ranked edge that
   * gives its copy.
   * @returns the playlist text, or why there is none: 503 without a healthy edge, 404 when an
   *   edge answers 404, 410 when it answers 410 (a title `vod remove` took down) (with the edge's own reason — e.g. "signed URLs are not enabled on this
   *   edge" when `vod steer` signs and the edges do not check), 502 when no edge answered with a
   *   multivariant playlist (each edge's status or failure listed).
   */
  async steeredPlaylist(titleId: string): Promise<{ readonly ok: true; readonly text: string } | { readonly ok: false; readonly status: 404 | 410 | 502 | 503; readonly reason: string }> {
    const ranked = this.ranked(titleId);
    if (ranked.length === 0) return { ok: false, status: 503, reason: 'no healthy edge' };
    const failures: string[] = [];
    for (const source of ranked) {
      let text: string;
      const who = `${source.pathwayId} (${source.url})`;
      try {
        const res = await fetch(`${source.url}${this.playbackPath(titleId, MULTIVARIANT_PLAYLIST_NAME)}`, { signal: AbortSignal.timeout(3000) });
        if (res.status === 404 || res.status === 410) return { ok: false, status: res.status, reason: `no such title on ${who}: ${await errorOfAnswer(res)}` };
        if (!res.ok) {
          failures.push(`${who} answered ${res.status}: ${await errorOfAnswer(res)}`);
          continue;
        }
        text = await res.text();
      } catch (err) {
        failures.push(`${who} failed: ${(err as Error).message}`);
        continue;
      }
      let parsed: ReturnType<typeof HLS.parse>;
      try {
        parsed = HLS.parse(text);
      } catch {
        failures.push(`${who} served something that is not a playlist`);
        continue;
      }
      if (!parsed.isMasterPlaylist) {
        failures.push(`${who} served a media playlist where the multivariant one belongs`);
        continue;
      }
      const variants: VariantStreamEntry[] = [];
      const iFrames: IFrameStreamEntry[] = [];
      const audio: AudioRenditionEntry[] = [];
      const subtitles: SubtitleRenditionEntry[] = [];
      for (const edge of ranked) {
        const base = (uri: string) => `${edge.url}${this.playbackPath(titleId, uri)}`;
        const groups = new Map<string, string>();
        const listed = new Set<string>();
        for (const v of parsed.variants) {
          // Every rendition of every audio group (each language), once per pathway.
          for (const a of v.audio) {
            const group = `${a.groupId}-${edge.pathwayId}`;
            groups.set(a.groupId, group);
            if (!a.uri || listed.has(`${group}\n${a.name}`)) continue;
            listed.add(`${group}\n${a.name}`);
            audio.push({ groupId: group, name: a.name, uri: base(a.uri), channels: Number(a.channels ?? 2) || 2, ...(a.language ? { language: a.language } : {}), isDefault: a.isDefault === true });
          }
          for (const t of v.subtitles) {
            const group = `${t.groupId}-${edge.pathwayId}`;
            groups.set(`subtitles\n${t.groupId}`, group);
            if (!t.uri || listed.has(`${group}\n${t.name}`)) continue;
            listed.add(`${group}\n${t.name}`);
            subtitles.push({ groupId: group, name: t.name, uri: base(t.uri), ...(t.language ? { language: t.language } : {}), isDefault: t.isDefault === true, isForced: t.forced === true });
          }
          if (v.isIFrameOnly) {
            iFrames.push({ uri: base(v.uri), bandwidthBps: v.bandwidth, ...(v.averageBandwidth ? { averageBandwidthBps: v.averageBandwidth } : {}), width: v.resolution?.width ?? 0, height: v.resolution?.height ?? 0, codecs: v.codecs ?? '', pathwayId: edge.pathwayId });
            continue;
          }
          const audioGroup = v.audio[0] ? groups.get(v.audio[0].groupId) : undefined;
          const subtitlesGroup = v.subtitles[0] ? groups.get(`subtitles\n${v.subtitles[0].groupId}`) : undefined;
          variants.push({
            uri: base(v.uri),
            bandwidthBps: v.bandwidth,
            averageBandwidthBps: v.averageBandwidth ?? v.bandwidth,
            width: v.resolution?.width ?? 0,
            height: v.resolution?.height ?? 0,
            frameRate: v.frameRate ?? 0,
            codecs: (v.codecs ?? '').split(',').filter(Boolean),
            pathwayId: edge.pathwayId,
            ...(audioGroup ? { audioGroupId: audioGroup } : {}),
            ...(subtitlesGroup ? { subtitlesGroupId: subtitlesGroup } : {}),
          });
        }
      }
      return { ok: true, text: writeMultivariantPlaylist(variants, audio, { serverUri: `${this.publicUrl}/steering/${titleId}`, pathwayId: ranked[0]!.pathwayId }, iFrames, subtitles) };
    }
    return { ok: false, status: 502, reason: `no edge gave the title's playlist: ${failures.join('; ')}` };
  }

  createApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(corsMiddleware);
    app.get('/healthz', (_req, res) => {
      res.json({ ok: true, edges: this.edges.map((e) => ({ url: e.url, pathwayId: e.pathwayId, alive: e.alive })) });
    });
    app.get('/play/:titleId', (req, res) => {
      const titleId = String(req.params.titleId);
      if (!isTitleId(titleId)) {
        res.status(400).json({ error: 'a title id is 16 hex digits' });
        return;
      }
      const ranked = this.ranked(titleId);
      if (ranked.length === 0) {
        res.status(503).json({ error: 'no healthy edge' });
        return;
      }
      const replicas = this.options.replicas ?? 2;
      res.setHeader('Cache-Control', 'no-store');
      res.json({
        titleId,
        steeredPlaylistUrl: `${this.publicUrl}/play/${titleId}/master.m3u8`,
        edges: ranked.map((e, i) => ({ url: e.url, pathwayId: e.pathwayId, placement: i < replicas ? 'primary' : 'fallback', playbackUrl: `${e.url}${this.playbackPath(titleId, MULTIVARIANT_PLAYLIST_NAME)}` })),
      });
    });
    app.get('/play/:titleId/master.m3u8', async (req, res) => {
      const titleId = String(req.params.titleId);
      if (!isTitleId(titleId)) {
        res.status(400).json({ error: 'a title id is 16 hex digits' });
        return;
      }
      const playlist = await this.steeredPlaylist(titleId);
      res.setHeader('Cache-Control', 'no-store');
      if (!playlist.ok) {
        res.status(playlist.status).json({ error: playlist.reason });
        return;
      }
      res.setHeader('Content-Type', 'application/vnd.apple.mpegurl');
      res.send(playlist.text);
    });
    app.get('/steering/:titleId', (req, res) => {
      const titleId = String(req.params.titleId);
      res.setHeader('Cache-Control', 'no-store');
      if (!isTitleId(titleId)) {
        res.status(400).json({ error: 'a title id is 16 hex digits' });
        return;
      }
      res.json({ VERSION: 1, TTL: this.options.steeringTtlS ?? 10, 'PATHWAY-PRIORITY': this.ranked(titleId).map((e) => e.pathwayId) });
    });
    app.use((_req, res) => {
      res.status(404).json({ error: 'not found' });
    });
    app.use(jsonErrorHandler(this.log, 'steering'));
    return app;
  }
}

/** The reason in an edge's JSON error answer (`{"error": …}`), else its status text; reads the body (at most 64 kB). */
async function errorOfAnswer(res: Response): Promise<string> {
  const body = (await res.text().catch(() => '')).slice(0, 65_536);
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof error === 'string' && error) return error;
  } catch {
    // not JSON: fall back to the status text
  }
  return res.statusText || `HTTP ${res.status}`;
}

/** Starts `vod steer`. */
export async function startSteeringServer(options: SteeringOptions & { host: string; port: number }): Promise<RunningServer & { steering: SteeringService }> {
  const steering = new SteeringService(options);
  const running = await listen(steering.createApp(), options.host, options.port);
  steering.publicUrl = options.publicUrl ?? running.url;
  steering.start();
  return {
    ...running,
    steering,
    close: async () => {
      steering.stop();
      await running.close();
    },
  };
}

// vod-edge player page: the catalog from the edge, hls.js playback, a live chart of the
// rendition's bitrate, hls.js's bandwidth estimate, the shaped link rate and the buffer;
// a network profile control (the edge shapes this session's responses); QoE beacons to the
// edge. State is mirrored on window.vodPlayer for the end-to-end tests.
/* global Hls, Chart */

import { createChart } from './chart.js';
import { setupShaping } from './shaping.js';
import { setupScrubbing } from './thumbnails.js';
import { setupTrackMenus } from './tracks.js';
import { addProtectionConfig, playbackToken, protectionErrorMessage } from './protection.js';

const $ = (id) => document.getElementById(id);
const video = $('video');
const session = (() => {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
})();
// The edge recognises this session's requests (hls.js's included) by this cookie.
document.cookie = `vod_session=${session}; path=/; SameSite=Lax`;

const state = (window.vodPlayer = {
  session,
  titleId: null,
  levels: [],
  ladderReport: null,
  switches: [],
  errors: [],
  fatalError: null,
  startupMs: null,
  rebuffers: [],
  linkRateBps: null,
  // performance.now() when the edge accepted this session's network profile: its trace's clock
  // started then (the ABR benchmark aligns the simulator's trace with it).
  shapedAtMs: null,
  hls: null,
  setNetwork: (value) => setNetwork(value),
});

const kbps = (bps) => (bps == null || !Number.isFinite(bps) ? '–' : bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`);

function showMessage(text) {
  const box = $('message');
  box.textContent = text;
  box.hidden = !text;
}

// ---- QoE beacons -------------------------------------------------------------------------
const pageStart = performance.now();
let pending = [];
function beacon(event) {
  pending.push({ ...event, atMs: Math.round(performance.now() - pageStart) });
}
function flushBeacons() {
  if (pending.length === 0) return;
  const body = JSON.stringify({ session, titleId: state.titleId ?? undefined, abr: state.abrRule, events: pending.splice(0, 100) });
  fetch('/qoe', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, keepalive: true }).catch(() => {});
}
setInterval(flushBeacons, 2000);
addEventListener('pagehide', flushBeacons);

// ---- network shaping: shaping.js ----------------------------------------------------------
const { loadTraces, setNetwork, pollLinkRate } = setupShaping({ $, state, session, kbps, showMessage });

// ---- chart: chart.js ----------------------------------------------------------------------
const chart = createChart($('chart'));
$('chart').parentElement.style.height = '240px';

// ---- hls.js configuration ------------------------------------------------------------------
// Defaults are hls.js's, except that fragment and playlist errors become fatal after two quick
// retries (hls.js would retry for ~30 s), so the page can say at once that the edge is gone and
// keep retrying itself. `?maxBufferLength=S` shortens the forward buffer (default 30 s; hls.js
// then fills up to maxMaxBufferLength = 2·S below 16 Mbit/s: bench:abr's simulator models it,
// src/abr/abr-sim.ts SimSettings.hlsBufferLimit);
// `?abr=tuned` selects the tuned ABR settings measured by `npm run bench:abr`;
// `?abr=throughput|bola|dynamic` replaces hls.js's ABR with one of our rules (src/abr/, the same
// code `vod bench abr-sim` simulates), each decision logged with the rule that made it.
const params = new URLSearchParams(location.search);
const OUR_ABR_RULES = ['throughput', 'bola', 'dynamic'];
const abrRule = OUR_ABR_RULES.includes(params.get('abr')) ? params.get('abr') : null;
state.abrRule = abrRule ?? (params.get('abr') === 'tuned' ? 'hlsjs-tuned' : 'hlsjs');
state.abrDecisions = [];
const abrModule = abrRule ? await import('./abr.js') : null;
export const TUNED_ABR = { abrEwmaFastVoD: 2, abrEwmaSlowVoD: 6, abrBandWidthFactor: 0.9, abrBandWidthUpFactor: 0.8 };

function hlsConfig(playlist) {
  const quickRetry = { maxNumRetry: 2, retryDelayMs: 500, maxRetryDelayMs: 1000 };
  const policy = (p) => ({ default: { maxTimeToFirstByteMs: 10_000, maxLoadTimeMs: 60_000, timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 }, errorRetry: quickRetry, ...p } });
  const config = { enableWorker: true, fragLoadPolicy: policy({ maxLoadTimeMs: 120_000 }), playlistLoadPolicy: policy({}), manifestLoadPolicy: policy({}) };
  const maxBuffer = Number(params.get('maxBufferLength'));
  if (maxBuffer > 0) Object.assign(config, { maxBufferLength: maxBuffer, maxMaxBufferLength: maxBuffer * 2 });
  if (params.get('abr') === 'tuned') Object.assign(config, TUNED_ABR);
  addProtectionConfig(config, playbackToken(playlist, params));
  if (abrModule) {
    config.abrController = abrModule.ruleAbrController(abrRule, (d) => {
      const r2 = (x) => (x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(2)));
      state.abrDecisions.push({ atMs: Math.round(performance.now()), atS: r2(video.currentTime), level: d.level, rule: d.rule, bufferS: r2(d.bufferS), throughputBps: d.throughputBps === undefined ? null : Math.round(d.throughputBps), placeholderS: r2(d.placeholderS), idleS: r2(d.idleS), sinceLastS: r2(d.sinceLastS) });
      if (state.abrDecisions.length > 500) state.abrDecisions.shift();
    });
  }
  return config;
}

// ---- catalog and playback ------------------------------------------------------------------
async function loadCatalog() {
  const list = $('catalog');
  try {
    const res = await fetch('/titles', { cache: 'no-store' });
    if (!res.ok) throw new Error(`catalog answered ${res.status}`);
    const { titles } = await res.json();
    list.replaceChildren();
    if (titles.length === 0) list.innerHTML = '<li class="muted">No titles yet: run <code>vod upload FILE</code>.</li>';
    for (const t of titles) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.dataset.titleId = t.titleId;
      const img = document.createElement('img');
      img.alt = '';
      if (t.posterPath) img.src = t.posterPath;
      const text = document.createElement('div');
      const strong = document.createElement('strong');
      strong.textContent = t.title;
      const small = document.createElement('small');
      small.textContent = `${t.durationS.toFixed(1)} s · ${t.renditions.filter((r) => r.kind === 'video').length} renditions · ${t.titleId}`;
      text.append(strong, small);
      button.append(img, text);
      button.addEventListener('click', () => play(t));
      li.append(button);
      list.append(li);
    }
    return titles;
  } catch (err) {
    list.innerHTML = '';
    showMessage(`Could not load the catalog from the edge: ${err.message}`);
    return [];
  }
}

/** The title's ladder report (ladder.json, written by the encoder): kind, metric, each rung's measured quality. */
async function loadLadderReport(title) {
  const titleId = title.titleId;
  state.ladderReport = null;
  $('ladder-info').textContent = '';
  if (!title.ladderReportPath) return;
  try {
    const res = await fetch(title.ladderReportPath);
    if (!res.ok) return;
    const report = await res.json();
    if (state.titleId !== titleId) return;
    state.ladderReport = report;
    const metric = report.metric === 'vmaf' ? 'VMAF' : 'PSNR';
    $('quality-head').textContent = `${metric === 'VMAF' ? 'VMAF' : 'PSNR (dB)'} mean (5th-percentile frame)`;
    const a = report.analysis;
    $('ladder-info').textContent =
      report.ladder === 'per-title'
        ? `Per-title ladder built on ${metric}${a ? `: ${a.points.length} trial encodes on ${a.sample.durationS.toFixed(1)} s of the title, analysis ${report.timings.analysisS.toFixed(1)} s, final encodes ${report.timings.encodeS.toFixed(1)} s` : ''}.`
        : `Fixed ladder (Apple HLS Authoring Specification), quality measured with ${metric}.`;
    renderLadder(state.levels, state.hls?.currentLevel ?? -1);
  } catch {
    // No report (titles published before ladder.json existed): the table shows the manifest only.
  }
}

/** Measured quality of the rendition behind an hls.js level, from the ladder report; '–' when unknown. */
function levelQuality(level) {
  const url = typeof level.url === 'string' ? level.url.split('?')[0] : '';
  const rung = state.ladderReport?.rungs.find((r) => url.endsWith(`/${r.uri}`));
  const q = rung?.quality;
  if (!q) return '–';
  const vmaf = state.ladderReport.metric === 'vmaf' && q.vmaf !== undefined;
  const mean = vmaf ? q.vmaf.toFixed(1) : q.psnrDb.toFixed(2);
  // The 5th-percentile frame: the bad moments a mean hides (titles published before it have none).
  const low = q.low && (vmaf ? q.low.vmaf?.toFixed(1) : q.low.psnrDb.toFixed(2));
  return low ? `${mean} (5%: ${low})` : mean;
}

/**
 * Whether a title's levels differ in frame rate (a 50/60 fps title whose low rungs are at half
 * rate): then every size label says its rate, else none does.
 */
const mixedRates = (levels) => new Set(levels.map((l) => l.frameRate).filter((r) => r > 0)).size > 1;
const fps = (rate) => Number(rate.toFixed(2));
/** A level's size for the ladder table and the readout: `640x360`, or `640x360 · 30 fps` in a title of mixed rates. */
const sizeLabel = (l, levels) => (mixedRates(levels) && l.frameRate ? `${l.width}x${l.height} · ${fps(l.frameRate)} fps` : `${l.width}x${l.height}`);
/** A level's name in the quality menu: `360p`, or `360p30` in a title of mixed rates (as players name 720p60). */
const heightLabel = (l, levels) => `${l.height}p${mixedRates(levels) && l.frameRate ? Math.round(l.frameRate) : ''}`;

function renderLadder(levels, current) {
  const body = $('ladder').querySelector('tbody');
  body.replaceChildren();
  levels.forEach((l, i) => {
    const tr = document.createElement('tr');
    if (i === current) tr.className = 'current';
    for (const text of [i, sizeLabel(l, levels), kbps(l.bitrate), l.averageBitrate ? kbps(l.averageBitrate) : '–', levelQuality(l), l.codecs]) {
      const td = document.createElement('td');
      td.textContent = String(text);
      tr.append(td);
    }
    body.append(tr);
  });
}

function bufferAheadS() {
  const t = video.currentTime;
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= t + 0.1 && t <= video.buffered.end(i)) return video.buffered.end(i) - t;
  }
  return 0;
}

let playStartedAt = 0;
let stalledSince = null;
let startedPlaying = false;

video.addEventListener('playing', () => {
  if (!startedPlaying && state.hls) {
    startedPlaying = true;
    state.startupMs = Math.round(performance.now() - playStartedAt);
    $('startup').textContent = `${(state.startupMs / 1000).toFixed(2)} s`;
    beacon({ type: 'startup', startupMs: state.startupMs });
  }
  if (stalledSince !== null) {
    const durationMs = Math.round(performance.now() - stalledSince);
    state.rebuffers.push({ atS: video.currentTime, durationMs });
    stalledSince = null;
    beacon({ type: 'rebuffer-end', durationMs });
    const total = state.rebuffers.reduce((a, r) => a + r.durationMs, 0) / 1000;
    $('rebuffers').textContent = `${state.rebuffers.length} (${total.toFixed(1)} s)`;
  }
});
video.addEventListener('waiting', () => {
  if (startedPlaying && !video.seeking && stalledSince === null && !video.ended) {
    stalledSince = performance.now();
    beacon({ type: 'rebuffer-start' });
  }
});

/**
 * The playlist to load: the catalog's playback path, or `?src=URL` (e.g. the content-steered
 * multivariant playlist of `vod steer`, /play/<title>/master.m3u8, which moves the player to
 * another edge when one fails).
 */
function playlistUrl(title) {
  return params.get('src') || title.playbackPath;
}

// ---- scrubbing with thumbnails: thumbnails.js ------------------------------------------------
const { loadThumbnails } = setupScrubbing({ video, state, $ });
// ---- audio and subtitle tracks: tracks.js -----------------------------------------------------
const trackMenus = setupTrackMenus({ state, $ });

function play(title) {
  document.querySelectorAll('#catalog button').forEach((b) => b.classList.toggle('active', b.dataset.titleId === title.titleId));
  $('now-playing').textContent = title.title;
  showMessage('');
  Object.assign(state, { titleId: title.titleId, switches: [], errors: [], fatalError: null, startupMs: null, rebuffers: [] });
  startedPlaying = false;
  stalledSince = null;
  $('switches').replaceChildren();
  chart.data.datasets.forEach((d) => (d.data = []));
  state.levels = [];
  loadLadderReport(title);
  loadThumbnails(title, playlistUrl(title));
  if (state.hls) state.hls.destroy();
  if (!window.Hls || !Hls.isSupported()) {
    showMessage('This browser cannot play HLS through Media Source Extensions.');
    return;
  }
  const hls = new Hls(hlsConfig(playlistUrl(title)));
  state.hls = hls;
  trackMenus.attach(hls, Hls);
  playStartedAt = performance.now();
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
    state.levels = data.levels.map((l) => ({ width: l.width, height: l.height, frameRate: l.frameRate, bitrate: l.bitrate, averageBitrate: l.averageBitrate, url: Array.isArray(l.url) ? l.url[0] : l.url, codecs: [l.videoCodec, l.audioCodec].filter(Boolean).join(', ') }));
    renderLadder(state.levels, -1);
    const select = $('quality');
    select.replaceChildren(new Option('Auto (ABR)', '-1'));
    state.levels.forEach((l, i) => select.append(new Option(`${heightLabel(l, state.levels)} · ${kbps(l.bitrate)}`, String(i))));
    video.play().catch(() => {});
  });
  let switchingFrom;
  const reasons = new Map();
  hls.on(Hls.Events.LEVEL_SWITCHING, (_e, data) => {
    const from = switchingFrom;
    switchingFrom = data.level;
    const l = state.levels[data.level];
    const estimate = hls.bandwidthEstimate;
    let reason;
    if (!hls.autoLevelEnabled) reason = 'manual choice';
    else if (from === undefined) reason = `start level (estimate ${kbps(estimate)})`;
    else if (data.level < from) reason = `down: estimate ${kbps(estimate)} too low for ${kbps(state.levels[from]?.bitrate)}, buffer ${bufferAheadS().toFixed(1)} s`;
    else reason = `up: estimate ${kbps(estimate)} affords ${kbps(l?.bitrate)}`;
    // With one of our rules, say which rule chose the level (DYNAMIC: throughput or BOLA) and at what buffer.
    const decision = abrModule && hls.autoLevelEnabled ? state.abrDecisions.findLast((d) => d.level === data.level) : undefined;
    if (decision) reason = `${decision.rule} (buffer ${decision.bufferS.toFixed(1)} s): ${reason}`;
    // hls.js may start loading another level before the previous switch is shown: keep reasons per level.
    reasons.set(data.level, reason);
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
    const l = state.levels[data.level];
    const previous = state.switches.at(-1);
    const entry = { atS: Number(video.currentTime.toFixed(2)), level: data.level, height: l?.height, bitrate: l?.bitrate, reason: reasons.get(data.level) ?? '' };
    state.switches.push(entry);
    if (previous) beacon({ type: 'switch', fromBps: previous.bitrate, toBps: l?.bitrate ?? 0, reason: entry.reason });
    const li = document.createElement('li');
    li.textContent = `t=${entry.atS.toFixed(1)} s → level ${data.level} (${l ? `${l.width}x${l.height}, ${kbps(l.bitrate)}` : '?'}) — ${entry.reason}`;
    $('switches').append(li);
    $('switch-count').textContent = String(Math.max(0, state.switches.length - 1));
    renderLadder(state.levels, data.level);
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    state.errors.push({ type: data.type, details: data.details, fatal: data.fatal });
    if (!data.fatal) return;
    state.fatalError = data.details;
    beacon({ type: 'error', details: data.details, fatal: true });
    const keyMessage = protectionErrorMessage(data, Hls);
    if (keyMessage) {
      showMessage(keyMessage);
    } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      showMessage(`Network error (${data.details}): the edge cannot be reached. Retrying…`);
      const retry = () => {
        if (state.hls !== hls || !state.fatalError) return;
        if (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR || data.details === Hls.ErrorDetails.MANIFEST_LOAD_TIMEOUT) hls.loadSource(playlistUrl(title));
        else hls.startLoad(video.currentTime);
        setTimeout(retry, 2000);
      };
      setTimeout(retry, 2000);
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      showMessage(`Media error (${data.details}); recovering…`);
      hls.recoverMediaError();
    } else {
      showMessage(`Playback failed: ${data.details}`);
    }
  });
  hls.on(Hls.Events.FRAG_BUFFERED, () => {
    if (state.fatalError) {
      state.fatalError = null;
      showMessage('');
    }
  });
  hls.loadSource(playlistUrl(title));
  hls.attachMedia(video);
}

$('quality').addEventListener('change', (e) => {
  if (state.hls) state.hls.currentLevel = Number(e.target.value);
});

// ---- readouts, chart samples and heartbeats ----------------------------------------------------
let lastTick = performance.now();
let playedSinceBeat = 0;
let lastBeat = performance.now();
setInterval(async () => {
  const hls = state.hls;
  const now = performance.now();
  if (!video.paused && stalledSince === null && startedPlaying) playedSinceBeat += now - lastTick;
  lastTick = now;
  if (!hls) return;
  await pollLinkRate();
  const level = hls.levels?.[hls.currentLevel];
  const t = (now - playStartedAt) / 1000;
  $('rendition').textContent = level ? sizeLabel(level, hls.levels) : '–';
  $('bitrate').textContent = level ? kbps(level.bitrate) : '–';
  $('bandwidth').textContent = kbps(hls.bandwidthEstimate);
  $('link').textContent = state.linkRateBps ? kbps(state.linkRateBps) : 'unshaped';
  $('buffer').textContent = `${bufferAheadS().toFixed(1)} s`;
  const quality = video.getVideoPlaybackQuality?.();
  if (quality) $('dropped').textContent = String(quality.droppedVideoFrames);
  const [rate, estimate, link, buffer] = chart.data.datasets;
  if (level) rate.data.push({ x: t, y: level.bitrate / 1e6 });
  if (Number.isFinite(hls.bandwidthEstimate)) estimate.data.push({ x: t, y: hls.bandwidthEstimate / 1e6 });
  if (state.linkRateBps) link.data.push({ x: t, y: state.linkRateBps / 1e6 });
  buffer.data.push({ x: t, y: bufferAheadS() });
  for (const d of chart.data.datasets) if (d.data.length > 600) d.data.shift();
  chart.update('none');
  if (now - lastBeat >= 2000 && level) {
    beacon({ type: 'heartbeat', bitrateBps: level.bitrate, bufferS: bufferAheadS(), playedMs: Math.round(playedSinceBeat), droppedFrames: quality?.droppedVideoFrames ?? 0 });
    playedSinceBeat = 0;
    lastBeat = now;
  }
}, 500);

await loadTraces();
if (params.get('network')) {
  $('network').value = params.get('network');
  await setNetwork(params.get('network'));
}
// ?loop=1 plays the title over and over (soak and chaos runs).
video.loop = params.get('loop') === '1';
const titles = await loadCatalog();
const wanted = params.get('title');
const first = titles.find((t) => t.titleId === wanted) ?? (wanted ? undefined : null);
if (wanted && !first) showMessage(`Title ${wanted} is not in the catalog (yet).`);
if (first) play(first);

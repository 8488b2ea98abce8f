// vod-edge player page: lists the catalog from the edge and plays a title with hls.js,
// showing the current rendition, hls.js's bandwidth estimate, the buffer and level switches.
// State is mirrored on window.vodPlayer for the end-to-end tests.
/* global Hls */

const $ = (id) => document.getElementById(id);
const video = $('video');
const state = (window.vodPlayer = { titleId: null, levels: [], switches: [], errors: [], fatalError: null, hls: null });

const kbps = (bps) => (bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`);

function showMessage(text) {
  const box = $('message');
  box.textContent = text;
  box.hidden = !text;
}

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
      const video = t.renditions.filter((r) => r.kind === 'video');
      button.innerHTML = `<strong></strong><small></small>`;
      button.querySelector('strong').textContent = t.title;
      button.querySelector('small').textContent = `${t.durationS.toFixed(1)} s · ${video.length} renditions · ${t.titleId}`;
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

function renderLadder(levels, current) {
  const body = $('ladder').querySelector('tbody');
  body.replaceChildren();
  levels.forEach((l, i) => {
    const tr = document.createElement('tr');
    if (i === current) tr.className = 'current';
    for (const text of [i, `${l.width}x${l.height}`, kbps(l.bitrate), l.averageBitrate ? kbps(l.averageBitrate) : '–', l.codecs]) {
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

function play(title) {
  document.querySelectorAll('#catalog button').forEach((b) => b.classList.toggle('active', b.dataset.titleId === title.titleId));
  $('now-playing').textContent = title.title;
  showMessage('');
  state.titleId = title.titleId;
  state.switches = [];
  state.errors = [];
  state.fatalError = null;
  $('switches').replaceChildren();
  if (state.hls) state.hls.destroy();
  if (!window.Hls || !Hls.isSupported()) {
    showMessage('This browser cannot play HLS through Media Source Extensions.');
    return;
  }
  const hls = new Hls({ enableWorker: true });
  state.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
    state.levels = data.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate, averageBitrate: l.averageBitrate, codecs: [l.videoCodec, l.audioCodec].filter(Boolean).join(', ') }));
    renderLadder(state.levels, -1);
    const select = $('quality');
    select.replaceChildren(new Option('Auto (ABR)', '-1'));
    state.levels.forEach((l, i) => select.append(new Option(`${l.height}p · ${kbps(l.bitrate)}`, String(i))));
    video.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
    const l = state.levels[data.level];
    const entry = { atS: Number(video.currentTime.toFixed(2)), level: data.level, height: l?.height, bitrate: l?.bitrate };
    state.switches.push(entry);
    const li = document.createElement('li');
    li.textContent = `t=${entry.atS.toFixed(1)} s → level ${data.level} (${l ? `${l.width}x${l.height}, ${kbps(l.bitrate)}` : '?'})`;
    $('switches').append(li);
    renderLadder(state.levels, data.level);
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    state.errors.push({ type: data.type, details: data.details, fatal: data.fatal });
    if (!data.fatal) return;
    state.fatalError = data.details;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      showMessage(`Network error (${data.details}): the edge cannot be reached. Retrying…`);
      setTimeout(() => hls.startLoad(), 2000);
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
  hls.loadSource(`/vod/${title.titleId}/${title.playlist}`);
  hls.attachMedia(video);
}

$('quality').addEventListener('change', (e) => {
  if (state.hls) state.hls.currentLevel = Number(e.target.value);
});

setInterval(() => {
  const hls = state.hls;
  if (!hls) return;
  const level = hls.levels?.[hls.currentLevel];
  $('rendition').textContent = level ? `${level.width}x${level.height}` : '–';
  $('bitrate').textContent = level ? kbps(level.bitrate) : '–';
  $('bandwidth').textContent = Number.isFinite(hls.bandwidthEstimate) ? kbps(hls.bandwidthEstimate) : '–';
  $('buffer').textContent = `${bufferAheadS().toFixed(1)} s`;
}, 250);

const titles = await loadCatalog();
const wanted = new URLSearchParams(location.search).get('title');
const first = titles.find((t) => t.titleId === wanted) ?? (wanted ? undefined : null);
if (wanted && !first) showMessage(`Title ${wanted} is not in the catalog (yet).`);
if (first) play(first);

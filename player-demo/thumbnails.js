/**
 * Scrubbing with thumbnail previews for the player page (player.js). A title's thumbnail sprites
 * come with a WebVTT track whose cues read `sprite.jpg#xywh=x,y,w,h` (the convention of JW Player,
 * Video.js and Bitmovin). The browser parses it: the track is added as a hidden metadata <track>,
 * and hovering the page's seek bar shows the cue at that time; a click seeks.
 */

/**
 * Wires the seek bar (#scrub, #scrub-played, #scrub-thumb) to the video.
 * @returns loadThumbnails(title, playlistUrl): swaps in a title's thumbnail track (relative to
 *          its playlist, so a signed playlist URL signs it too); sets state.thumbnails when loaded.
 */
export function setupScrubbing({ video, state, $ }) {
  let thumbTrack = null;
  function loadThumbnails(title, playlist) {
    thumbTrack?.remove();
    thumbTrack = null;
    state.thumbnails = null;
    $('scrub').hidden = false;
    if (!title.thumbnails) return;
    const el = document.createElement('track');
    el.kind = 'metadata';
    el.label = 'thumbnails';
    // Relative to the playlist, so a signed playlist URL (/s/<token>/vod/...) signs it too.
    el.src = new URL(title.thumbnails, new URL(playlist, location.href)).href;
    el.addEventListener('load', () => {
      state.thumbnails = { cues: el.track.cues?.length ?? 0, src: el.src };
    });
    video.append(el);
    el.track.mode = 'hidden';
    thumbTrack = el;
  }

  /** The thumbnail cue at `t` seconds: { url, x, y, w, h } or null. */
  function thumbnailAt(t) {
    const cues = thumbTrack?.track.cues;
    if (!cues) return null;
    for (const cue of cues) {
      if (t >= cue.startTime && t < cue.endTime) {
        const m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(cue.text.trim());
        if (!m) return null;
        return { url: new URL(m[1], thumbTrack.src).href, x: Number(m[2]), y: Number(m[3]), w: Number(m[4]), h: Number(m[5]) };
      }
    }
    return null;
  }

  const scrubTime = (e) => {
    const r = $('scrub').getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)) * (video.duration || 0);
  };
  $('scrub').addEventListener('mousemove', (e) => {
    const t = scrubTime(e);
    const thumb = thumbnailAt(t);
    const box = $('scrub-thumb');
    if (!thumb) {
      box.hidden = true;
      return;
    }
    const img = $('scrub-thumb-img');
    Object.assign(img.style, { width: `${thumb.w}px`, height: `${thumb.h}px`, backgroundImage: `url("${thumb.url}")`, backgroundPosition: `-${thumb.x}px -${thumb.y}px` });
    $('scrub-thumb-time').textContent = `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}`;
    box.style.left = `${e.clientX - $('scrub').getBoundingClientRect().left}px`;
    box.hidden = false;
    state.thumbnailShown = { atS: Number(t.toFixed(2)), ...thumb };
  });
  $('scrub').addEventListener('mouseleave', () => {
    $('scrub-thumb').hidden = true;
  });
  $('scrub').addEventListener('click', (e) => {
    if (video.duration) video.currentTime = scrubTime(e);
  });
  video.addEventListener('timeupdate', () => {
    $('scrub-played').style.width = video.duration ? `${(100 * video.currentTime) / video.duration}%` : '0';
  });
  return { loadThumbnails };
}

/**
 * Audio and subtitle track menus for the player page (player.js). hls.js reads a title's
 * EXT-X-MEDIA renditions (RFC 8216 §4.3.4.1: TYPE=AUDIO and TYPE=SUBTITLES, with NAME, LANGUAGE
 * and DEFAULT) into `hls.audioTracks` and `hls.subtitleTracks`; the menus list them and switch
 * with `hls.audioTrack` / `hls.subtitleTrack` (hls.js's track API). A menu is hidden when its
 * title has nothing to choose (one audio track, no subtitles). State for the end-to-end tests:
 * state.audioTracks / state.audioTrack and state.subtitleTracks / state.subtitleTrack (-1 = off).
 */

const label = (t) => (t.lang && t.name && !t.name.toLowerCase().includes(t.lang.toLowerCase()) ? `${t.name} (${t.lang})` : t.name || t.lang || `Track ${t.id + 1}`);

/**
 * Wires #audio-track and #subtitle-track (each inside its own <label>) to an hls.js instance.
 * @returns attach(hls, Hls): follows a new hls.js instance (one per played title).
 */
export function setupTrackMenus({ state, $ }) {
  const audio = $('audio-track');
  const subtitles = $('subtitle-track');
  let hls = null;
  const fill = (select, tracks, current, off) => {
    select.replaceChildren(...(off ? [new Option(off, '-1')] : []), ...tracks.map((t, i) => new Option(label(t), String(i))));
    select.value = String(current);
    select.closest('label').hidden = tracks.length < (off ? 1 : 2);
  };
  const summary = (tracks) => tracks.map((t) => ({ name: t.name, lang: t.lang ?? null, isDefault: Boolean(t.default) }));
  audio.addEventListener('change', () => {
    if (hls) hls.audioTrack = Number(audio.value);
  });
  subtitles.addEventListener('change', () => {
    if (!hls) return;
    hls.subtitleTrack = Number(subtitles.value);
    hls.subtitleDisplay = Number(subtitles.value) >= 0;
  });
  function attach(instance, Hls) {
    hls = instance;
    Object.assign(state, { audioTracks: [], audioTrack: -1, subtitleTracks: [], subtitleTrack: -1 });
    fill(audio, [], -1);
    fill(subtitles, [], -1, 'Off');
    hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, (_e, data) => {
      state.audioTracks = summary(data.audioTracks);
      fill(audio, data.audioTracks, hls.audioTrack);
    });
    hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (_e, data) => {
      state.audioTrack = data.id;
      audio.value = String(data.id);
    });
    hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_e, data) => {
      state.subtitleTracks = summary(data.subtitleTracks);
      fill(subtitles, data.subtitleTracks, hls.subtitleTrack, 'Off');
    });
    hls.on(Hls.Events.SUBTITLE_TRACK_SWITCH, (_e, data) => {
      state.subtitleTrack = data.id;
      subtitles.value = String(data.id);
    });
  }
  return { attach };
}

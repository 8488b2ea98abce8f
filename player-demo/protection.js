/**
 * Encrypted titles on the player page (player.js): the hls.js settings that fetch keys and
 * licenses with the viewer's playback token, and the message for a refused key or license.
 *
 * - HLS AES-128 (RFC 8216 §5.2): hls.js fetches each key from the key server's
 *   /keys/<title>/<period>, which hands it only to a request carrying the playback token
 *   (RFC 6750 Bearer credentials).
 * - Common Encryption (cenc): the browser's W3C Clear Key CDM decrypts the samples; its license
 *   request goes to the URI of the title's EXT-X-KEY (the key server's /clearkey/<title>), with
 *   the same token. hls.js asks for a licenseUrl per key system; licenseXhrSetup replaces it with
 *   the playlist's, so one page serves every title.
 */

/** A key server's key URL (`vod keys`: /keys/<title>/<period>), the URI of an AES-128 title's EXT-X-KEY tags. */
const KEY_URL_PATH = /\/keys\/[0-9a-f]{16}\/\d+$/;

/** hls.js's licenseUrl for Clear Key: never requested, licenseXhrSetup opens the playlist's URI instead. */
const LICENSE_FROM_PLAYLIST = 'about:blank#license-from-playlist';

/**
 * The playback token of a signed playlist URL (`/s/<token>/vod/...`, as `vod sign` prints it), or
 * `?token=` of this page: what the key server of encrypted titles asks for.
 */
export function playbackToken(playlist, params) {
  return params.get('token') || /\/s\/([^/]+)\//.exec(new URL(playlist, location.href).pathname)?.[1] || null;
}

/** Adds the key and license settings to an hls.js config (see the module comment). */
export function addProtectionConfig(config, token) {
  if (token) {
    config.xhrSetup = (xhr, url) => {
      if (!KEY_URL_PATH.test(new URL(url, location.href).pathname)) return;
      if (xhr.readyState === 0) xhr.open('GET', url, true);
      xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    };
  }
  config.emeEnabled = true;
  config.drmSystems = { 'org.w3.clearkey': { licenseUrl: LICENSE_FROM_PLAYLIST } };
  config.licenseXhrSetup = (xhr, _url, keyContext) => {
    xhr.open('POST', keyContext.decryptdata.uri, true);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
  };
  return config;
}

/**
 * The message for a fatal hls.js error about keys or licenses (retrying does not help: no or a
 * bad token, a key server that cannot be reached, a browser without Clear Key), else null.
 */
export function protectionErrorMessage(data, Hls) {
  const advice = 'open it with a signed playback URL (vod sign) or ?token=.';
  if ([Hls.ErrorDetails.KEY_SYSTEM_LICENSE_REQUEST_FAILED, Hls.ErrorDetails.KEY_SYSTEM_NO_ACCESS, Hls.ErrorDetails.KEY_SYSTEM_NO_KEYS].includes(data.details)) {
    const status = data.networkDetails?.status;
    return `This title is encrypted (Common Encryption) and its license could not be obtained${status ? ` (key server answered ${status})` : ''}: ${advice}`;
  }
  if (data.details === Hls.ErrorDetails.KEY_LOAD_ERROR || data.details === Hls.ErrorDetails.KEY_LOAD_TIMEOUT) {
    const status = data.response?.code ?? data.networkDetails?.status;
    return `This title is encrypted and its key could not be loaded${status ? ` (key server answered ${status})` : ''}: ${advice}`;
  }
  return null;
}

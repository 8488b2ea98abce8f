/**
 * Request targets (RFC 9112 §3.2): servers see the origin-form (`/path?query`) from browsers,
 * and must also accept the absolute-form (`http://host/path`, §3.2.2), whose host they ignore
 * here — no upstream URL is ever built from a client's host (no open proxy). Anything else
 * (another scheme, authority-form, garbage) is a 400.
 */

/**
 * The origin-form of a request target: `/path?query` as given, or the path and query of an
 * http(s) absolute-form target.
 * @returns undefined for targets that are neither (the caller answers 400).
 */
export function originFormTarget(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  if (target === '*') return undefined; // asterisk-form: OPTIONS * only; nothing to serve here
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return `${url.pathname}${url.search}`;
}

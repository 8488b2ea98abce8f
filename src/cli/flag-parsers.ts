/**
 * Parsers of the `vod` command line's flag values (commander's argParser): each returns the
 * parsed value or throws InvalidArgumentError with the sentence commander prints after the flag.
 */
import { InvalidArgumentError } from 'commander';
import bytes from 'bytes';
import { z } from 'zod';
import { adminTokenSchema, signingKeySchema } from '../config.js';
import { VIDEO_CODEC_NAMES, type VideoCodec } from '../encoder/fixed-ladder.js';

/** A size such as `512MB`, `2GB` or `1048576`, in bytes (binary units, the `bytes` package: 1MB = 1048576). */
export function parseBytes(value: string): number {
  const n = bytes.parse(value);
  if (n === null || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive size such as 512MB, 2GB or 1048576 (bytes).');
  return n;
}

/** A whole number ≥ 1. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return n;
}

/**
 * `--subtitles en=movie.en.srt,fr=movie.fr.vtt` (the option may repeat): LANG=FILE pairs, added
 * to the ones before. The language is checked at upload (uploadMaster), with the file.
 */
export function collectSubtitles(value: string, previous: { language: string; file: string }[] = []): { language: string; file: string }[] {
  const pairs = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (pairs.length === 0) throw new InvalidArgumentError('expected LANG=FILE[,LANG=FILE...], e.g. en=movie.en.srt');
  return [
    ...previous,
    ...pairs.map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0 || eq === p.length - 1) throw new InvalidArgumentError(`"${p}" is not LANG=FILE (e.g. en=movie.en.srt).`);
      return { language: p.slice(0, eq), file: p.slice(eq + 1) };
    }),
  ];
}

/** `--codecs h264,hevc`: the ladder's video codecs; H.264 must be among them (every player decodes it). */
export function parseCodecs(value: string): VideoCodec[] {
  const names = [...new Set(value.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean))];
  const bad = names.filter((n) => !(VIDEO_CODEC_NAMES as readonly string[]).includes(n));
  if (bad.length > 0) throw new InvalidArgumentError(`unknown codec ${bad.map((b) => `'${b}'`).join(', ')}: choose from ${VIDEO_CODEC_NAMES.join(', ')}.`);
  if (!names.includes('h264')) throw new InvalidArgumentError('the ladder always has H.264 (every player decodes it): use h264 or h264,hevc.');
  return names as VideoCodec[];
}

/** A whole number ≥ 0. */
export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of at least 0.');
  return n;
}

/** A finite number > 0. */
export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

/** A finite number ≥ 0. */
export function parseNonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number of at least 0.');
  return n;
}

/** At least two x264/x265 CRFs (integers 0–51), comma-separated. */
export function parseCrfList(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length < 2 || list.some((c) => !Number.isInteger(c) || c < 0 || c > 51)) {
    throw new InvalidArgumentError('needs at least two integers from 0 to 51, comma-separated.');
  }
  return list;
}

/** A number in (0, 1]. */
export function parseFraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('must be a number in (0, 1].');
  return n;
}

/** Longest lifetime `vod sign` gives a token: ten years, s (an expiry must stay a whole number of seconds the token grammar carries). */
export const MAX_TOKEN_TTL_S = 10 * 365 * 86_400;

/** `vod sign --ttl`: seconds, 1 to MAX_TOKEN_TTL_S. */
export function parseTokenTtl(value: string): number {
  const n = parsePositiveInt(value);
  if (n > MAX_TOKEN_TTL_S) throw new InvalidArgumentError(`must be at most ${MAX_TOKEN_TTL_S} s (ten years).`);
  return n;
}

/** A commander parser from a zod schema: the flag gets the same rule as its environment variable. */
export function parseWith(schema: z.ZodType<string>): (value: string) => string {
  return (value) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new InvalidArgumentError(`${parsed.error.issues[0]?.message ?? 'invalid'}.`);
    return parsed.data;
  };
}

/** An HMAC key of signed URLs, by the same rule as VOD_SIGNING_KEY (config.ts). */
export const parseSigningKey = parseWith(signingKeySchema);
/** An admin token, by the same rule as VOD_ADMIN_TOKEN (config.ts). */
export const parseAdminToken = parseWith(adminTokenSchema);

/** A TCP port, 0 (a free one) to 65535. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a TCP port from 0 to 65535.');
  return n;
}

/** An http:// or https:// URL, trailing slashes removed. */
export function parseHttpUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http:// or https:// URL.');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('expected an http:// or https:// URL.');
  return value.replace(/\/+$/, '');
}

/** `--edges a,b,c`: http(s) URLs, none twice (one edge would get two pathways). */
export function parseEdgeList(value: string): string[] {
  const urls = value.split(',').map((u) => parseHttpUrl(u.trim()));
  const twice = urls.find((u, i) => urls.indexOf(u) !== i);
  if (twice) throw new InvalidArgumentError(`${twice} is listed twice.`);
  return urls;
}

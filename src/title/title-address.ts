/**
 * A title's address, defined once and imported everywhere (ingest, encoder, origin, edge,
 * steering, CLI; the player uses the paths the catalog sends): the title id, the object-store
 * keys of its master and of its published files, the URL paths players request, and the kinds
 * of bitrate ladder a title can have.
 *
 * Store keys and URL paths mirror each other: the store key `vod/<titleId>/<name>` is served
 * at the URL path `/vod/<titleId>/<name>` by the origin and every edge.
 */

/** Hex digits of the master's SHA-256 kept in a title id (64 bits: collisions need ~4e9 titles). */
export const TITLE_ID_HEX_DIGITS = 16;
/** A title id: the first 16 lower-case hex digits of the master's SHA-256 (ingest/title-id.ts). */
export const TITLE_ID_PATTERN = /^[0-9a-f]{16}$/;

/** Whether `value` is a well-formed title id. */
export function isTitleId(value: unknown): value is string {
  return typeof value === 'string' && TITLE_ID_PATTERN.test(value);
}

/** Store prefix of published titles: key `vod/<titleId>/...`, URL path `/vod/<titleId>/...`. */
export const VOD_PREFIX = 'vod';
/** URL path prefix of published titles (`/vod/`). */
export const VOD_PATH_PREFIX = `/${VOD_PREFIX}/`;
/** Store prefix of uploaded masters: `masters/<titleId>/master<ext>`. */
export const MASTERS_PREFIX = 'masters';

/** The multivariant playlist of a title (RFC 8216 §4.3.4), at the root of its folder. */
export const MULTIVARIANT_PLAYLIST_NAME = 'master.m3u8';
/** The catalog record of a title (origin/catalog.ts), published with it. */
export const TITLE_RECORD_NAME = 'title.json';
/** The ladder report of a title (encoder/ladder-report.ts), beside its record. */
export const LADDER_REPORT_NAME = 'ladder.json';

/**
 * The order in which a title's last files are published, after every segment and media
 * playlist: the multivariant playlist (players start from it), then the title record, which is
 * the publish marker — a title is published once its record exists (origin/object-store.ts
 * StageOptions; the catalog lists only titles with a record).
 */
export const PUBLISH_LAST: readonly string[] = Object.freeze([MULTIVARIANT_PLAYLIST_NAME, TITLE_RECORD_NAME]);
/** The file whose existence means "published": the title record. */
export const PUBLISHED_MARKER = TITLE_RECORD_NAME;

/** Store prefix of the markers of removed titles (`removed/<titleId>`, removedMarkerKey). */
export const REMOVED_PREFIX = 'removed';

/**
 * Store key of the marker `vod remove` leaves for a title that was published: its id is never
 * published again (ingest/title-id.ts currentTitleId), since edges and browsers may keep its
 * segments for a year (they are served `immutable`).
 */
export function removedMarkerKey(titleId: string): string {
  return `${REMOVED_PREFIX}/${titleId}`;
}

/** Store prefix of one title's published folder: `vod/<titleId>`. */
export function titleKeyPrefix(titleId: string): string {
  return `${VOD_PREFIX}/${titleId}`;
}

/**
 * The title folder (`vod/<titleId>`) a store key lies in, or undefined for keys outside one
 * (masters, work in progress). The S3 store publishes each title folder as a version.
 */
export function titlePrefixOf(key: string): string | undefined {
  const m = /^vod\/([0-9a-f]{16})(?:\/|$)/.exec(key);
  return m ? titleKeyPrefix(m[1]!) : undefined;
}

/** Store key of a file of a published title: `vod/<titleId>/<name>` (`name` relative to the title folder). */
export function titleObjectKey(titleId: string, name: string): string {
  return `${VOD_PREFIX}/${titleId}/${name}`;
}

/**
 * Store key of an uploaded master: `masters/<titleId>/master<ext>`, the extension lower-cased
 * and kept (tools guess formats from it) when it is a plain one of at most 8 characters.
 */
export function masterObjectKey(titleId: string, fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  const ext = dot > 0 ? fileName.slice(dot).toLowerCase() : '';
  return `${MASTERS_PREFIX}/${titleId}/master${/^\.[a-z0-9]{1,8}$/.test(ext) ? ext : ''}`;
}

/**
 * Store key of a subtitle file uploaded beside a master (`vod upload --subtitles`):
 * `masters/<titleId>/subtitles/<n>-<language><ext>`, n from 1 in the order given, the extension
 * lower-cased when it is a plain one (ffmpeg guesses the format from it).
 */
export function subtitleObjectKey(titleId: string, n: number, language: string, fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  const ext = dot > 0 ? fileName.slice(dot).toLowerCase() : '';
  return `${MASTERS_PREFIX}/${titleId}/subtitles/${n}-${language.replace(/[^A-Za-z0-9-]/g, '')}${/^\.[a-z0-9]{1,8}$/.test(ext) ? ext : ''}`;
}

/** URL path prefix of one title's files: `/vod/<titleId>/` (purge, signed-URL scope). */
export function titlePathPrefix(titleId: string): string {
  return `${VOD_PATH_PREFIX}${titleId}/`;
}

/** URL path of a file of a title: `/vod/<titleId>/<name>` (`name` relative to the title folder). */
export function titleObjectPath(titleId: string, name: string): string {
  return `${VOD_PATH_PREFIX}${titleId}/${name}`;
}

/** URL path a player loads a title from: its multivariant playlist, `/vod/<titleId>/master.m3u8`. */
export function playbackPath(titleId: string, playlist: string = MULTIVARIANT_PLAYLIST_NAME): string {
  return titleObjectPath(titleId, playlist);
}

/**
 * The title id segment of a `/vod/<titleId>/...` path, without validating it; undefined for
 * other paths. Cheap (no split): it runs on the edge's hit path.
 */
export function titleIdOfPath(path: string): string | undefined {
  if (!path.startsWith(VOD_PATH_PREFIX)) return undefined;
  const start = VOD_PATH_PREFIX.length;
  const end = path.indexOf('/', start);
  return end > start ? path.slice(start, end) : undefined;
}

/**
 * Kinds of bitrate ladder: `per-title` (from the title's own RD convex hull, encoder/per-title.ts)
 * and `fixed` (Apple's HLS Authoring Specification ladder, encoder/fixed-ladder.ts).
 */
export const LADDER_KINDS = ['per-title', 'fixed'] as const;
export type LadderKind = (typeof LADDER_KINDS)[number];
/** The ladder of an upload that does not choose: per-title, wherever it is not given. */
export const DEFAULT_LADDER_KIND: LadderKind = 'per-title';

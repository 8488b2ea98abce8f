/**
 * The title catalog: one `title.json` per published title, inside the title's own folder
 * so it is published in the same atomic step as the playlists and segments.
 */
import { z } from 'zod';
import { protectionSchema } from '../keys/content-keys.js';
import { LADDER_KINDS, playbackPath, removedMarkerKey, TITLE_ID_PATTERN, TITLE_RECORD_NAME, titleObjectKey, titleObjectPath, VOD_PREFIX } from '../title/title-address.js';
import type { ObjectStore } from './object-store.js';

const videoRendition = z.object({
  kind: z.literal('video'),
  /** Media playlist URI relative to the multivariant playlist. */
  uri: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  frameRate: z.number().positive(),
  /** Encoder target, bits/s. */
  targetBitrateBps: z.number().positive(),
  /** Measured peak segment bit rate, bits/s (RFC 8216 §4.3.4.2). */
  peakBitrateBps: z.number().nonnegative(),
  /** Measured average bit rate, bits/s. */
  averageBitrateBps: z.number().nonnegative(),
  codecs: z.string(),
  segmentCount: z.number().int().positive(),
  /** The rendition's I-frame playlist (trick play), relative to the multivariant playlist. */
  iFrameUri: z.string().optional(),
  /** Measured quality of the published rendition against the master (quality-metrics.ts), when measured. */
  quality: z
    .object({
      psnrDb: z.number(),
      ssim: z.number().optional(),
      vmaf: z.number().optional(),
      /** The 5th-percentile frame of each metric (quality-metrics.ts summarizeFrames). */
      low: z.object({ psnrDb: z.number(), ssim: z.number().optional(), vmaf: z.number().optional() }).optional(),
    })
    .optional(),
});

const audioRendition = z.object({
  kind: z.literal('audio'),
  uri: z.string(),
  /** EXT-X-MEDIA NAME (titles published before multi-track audio have none: "Main"). */
  name: z.string().optional(),
  /** RFC 5646 language tag, when the master stated one. */
  language: z.string().optional(),
  /** The track players pick by default (EXT-X-MEDIA DEFAULT=YES). */
  isDefault: z.boolean().optional(),
  /** Which of the master's audio streams it was made from (its AAC and AC-3 renditions share it). */
  audioIndex: z.number().int().nonnegative().optional(),
  channels: z.number().int().positive(),
  sampleRateHz: z.number().int().positive(),
  targetBitrateBps: z.number().positive(),
  peakBitrateBps: z.number().nonnegative(),
  averageBitrateBps: z.number().nonnegative(),
  codecs: z.string(),
  segmentCount: z.number().int().positive(),
});

export const titleRecordSchema = z.object({
  titleId: z.string().regex(TITLE_ID_PATTERN),
  title: z.string(),
  /** ISO 8601 time of publication. */
  publishedAt: z.string(),
  durationS: z.number().nonnegative(),
  /** Multivariant playlist URI relative to the title folder. */
  playlist: z.string(),
  ladder: z.enum(LADDER_KINDS),
  segmentDurationS: z.number().positive(),
  master: z.object({
    fileName: z.string(),
    sizeBytes: z.number().int().nonnegative(),
    formatName: z.string(),
    videoCodec: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    frameRate: z.number().nonnegative(),
    audioCodec: z.string().optional(),
  }),
  renditions: z.array(z.discriminatedUnion('kind', [videoRendition, audioRendition])),
  /** Wall-clock time the encode took, seconds. */
  encodeTimeS: z.number().nonnegative(),
  /** The ladder report (`ladder.json`: RD points, hull, rungs) relative to the title folder. */
  ladderReport: z.string().optional(),
  /** Metric the ladder was built on (per-title) or measured with. */
  qualityMetric: z.enum(['vmaf', 'psnr']).optional(),
  /** First-frame thumbnail (JPEG) relative to the title folder, when one was made. */
  poster: z.string().optional(),
  /** Thumbnail sprites' WebVTT track (`#xywh=` cues), relative to the title folder. */
  thumbnails: z.string().optional(),
  /** WebVTT subtitle renditions (EXT-X-MEDIA TYPE=SUBTITLES), when the master had text subtitles. */
  subtitles: z
    .array(z.object({ uri: z.string(), name: z.string(), language: z.string().optional(), isDefault: z.boolean(), isForced: z.boolean(), segmentCount: z.number().int().nonnegative() }))
    .optional(),
  /** Segment encryption, when the title is protected (keys come from the key server, `vod keys`). */
  protection: protectionSchema.optional(),
});

export type TitleRecord = z.infer<typeof titleRecordSchema>;
export type VideoRenditionRecord = z.infer<typeof videoRendition>;
export type AudioRenditionRecord = z.infer<typeof audioRendition>;

/** Store key of a title's record. */
export const titleRecordKey = (titleId: string): string => titleObjectKey(titleId, TITLE_RECORD_NAME);

/**
 * Reads one published title's record.
 * @returns undefined when the title is not published.
 * @throws ZodError when the stored record is malformed.
 */
export async function readTitle(store: ObjectStore, titleId: string): Promise<TitleRecord | undefined> {
  if (!TITLE_ID_PATTERN.test(titleId)) return undefined;
  const bytes = await store.get(titleRecordKey(titleId));
  return bytes ? titleRecordSchema.parse(JSON.parse(bytes.toString('utf8'))) : undefined;
}

const removedMarkerSchema = z.object({ titleId: z.string(), title: z.string().optional(), removedAt: z.string() });
/** What `removed/<id>` holds: written by `vod remove` (ingest/title-removal.ts) for a title that was published. */
export type RemovedMarker = z.infer<typeof removedMarkerSchema>;

/**
 * The marker a removed title left (its id, name and ISO 8601 removal time), or undefined: none,
 * not a title id, or unreadable. A marked id is retired for good (ingest/title-id.ts currentTitleId).
 */
export async function readRemovedMarker(store: ObjectStore, titleId: string): Promise<RemovedMarker | undefined> {
  if (!TITLE_ID_PATTERN.test(titleId)) return undefined;
  const bytes = await store.get(removedMarkerKey(titleId));
  if (!bytes) return undefined;
  try {
    return removedMarkerSchema.parse(JSON.parse(bytes.toString('utf8')));
  } catch {
    return undefined;
  }
}

/**
 * Lists every published title, newest first. Records that fail validation are skipped
 * (reported through `onInvalid`) rather than hiding the rest of the catalog.
 */
export async function listTitles(store: ObjectStore, onInvalid?: (titleId: string, err: unknown) => void): Promise<TitleRecord[]> {
  const titles: TitleRecord[] = [];
  for (const id of await store.list(VOD_PREFIX)) {
    try {
      const record = await readTitle(store, id);
      if (record) titles.push(record);
    } catch (err) {
      onInvalid?.(id, err);
    }
  }
  return titles.sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
}

/**
 * A catalog entry as `GET /titles` serves it: the record plus the URL paths of its files, so
 * players and tools never build a title's paths themselves (title-address.ts builds them).
 */
export interface CatalogEntry extends TitleRecord {
  /** Where players load the title: its multivariant playlist, `/vod/<titleId>/master.m3u8`. */
  readonly playbackPath: string;
  /** The ladder report (`ladder.json`), when the title has one. */
  readonly ladderReportPath?: string;
  /** The poster (JPEG), when the title has one. */
  readonly posterPath?: string;
  /** The thumbnail track (WebVTT with sprite `#xywh=` cues), when the title has one. */
  readonly thumbnailsPath?: string;
}

/** Builds a record's catalog entry. */
export function catalogEntry(record: TitleRecord): CatalogEntry {
  return {
    ...record,
    playbackPath: playbackPath(record.titleId, record.playlist),
    ...(record.ladderReport ? { ladderReportPath: titleObjectPath(record.titleId, record.ladderReport) } : {}),
    ...(record.poster ? { posterPath: titleObjectPath(record.titleId, record.poster) } : {}),
    ...(record.thumbnails ? { thumbnailsPath: titleObjectPath(record.titleId, record.thumbnails) } : {}),
  };
}

/**
 * The encode job: what `vod upload` enqueues and `vod worker` runs, and the child jobs a
 * chunked title is split into (title-flow.ts). Validated with zod on both sides, so a job
 * written by another version or by hand fails with a clear reason.
 */
import { z } from 'zod';
import { protectionSchema } from '../keys/content-keys.js';
import { VIDEO_CODEC_NAMES } from '../encoder/fixed-ladder.js';
import { DEFAULT_LADDER_KIND, LADDER_KINDS, TITLE_ID_PATTERN } from '../title/title-address.js';

export const ENCODE_QUEUE_NAME = 'vod-encode';
export const ENCODE_JOB_NAME = 'encode-title';

export const encodeJobSchema = z.object({
  titleId: z.string().regex(TITLE_ID_PATTERN),
  /** Human title for the catalog. */
  title: z.string().min(1).max(200),
  /** Store key of the uploaded master (`masters/<titleId>/master<ext>`). */
  masterKey: z.string().min(1),
  /** The file name the master was uploaded from. */
  masterFileName: z.string().min(1),
  /** Which bitrate ladder: per-title (analysed from the title's RD curves, the default) or Apple's fixed ladder. */
  ladder: z.enum(LADDER_KINDS).default(DEFAULT_LADDER_KIND),
  /** ISO 8601 upload time. */
  uploadedAt: z.string(),
  /** Subtitle files uploaded beside the master (`vod upload --subtitles`), in the order given. */
  subtitles: z
    .array(z.object({ key: z.string().min(1), fileName: z.string().min(1), language: z.string().min(1).max(35) }))
    .max(64)
    .optional(),
  /** Encrypt the published segments (`vod upload --encrypt`); the key seed is stored at upload. */
  protection: protectionSchema.optional(),
  /**
   * Video codecs of the ladder (`vod upload --codecs`): H.264 always; 'hevc' adds an HEVC ladder
   * from its own trials (per-title ladders only). Absent = H.264 only.
   */
  codecs: z.array(z.enum(VIDEO_CODEC_NAMES)).min(1).max(VIDEO_CODEC_NAMES.length).optional(),
  /**
   * A chunked title's step (title-flow.ts): absent = plan (or encode a short title whole);
   * 'ladder' = its per-title analysis's trial-group children are done (choose the ladder, add
   * the chunk children); 'assemble' = its chunk children are done.
   */
  step: z.enum(['ladder', 'assemble']).optional(),
  /** At step 'ladder': the last wave of trial-group children added (title-flow.ts; absent = 0). */
  wave: z.number().int().nonnegative().max(100).optional(),
  /** When a chunked title's planning started, ms since the epoch (its encode time runs from there). */
  flowStartedAtMs: z.number().nonnegative().optional(),
  /** The job's stall count when it was last re-uploaded: stalls before it do not spend the new attempts. */
  stallBaseline: z.number().int().nonnegative().optional(),
});

export type EncodeJobData = z.infer<typeof encodeJobSchema>;

/** What the worker reports through BullMQ's job progress. */
export const encodeProgressSchema = z.object({
  stage: z.enum(['queued', 'probe', 'analyze', 'encode', 'measure', 'package', 'publish', 'done']),
  /** Percent of the whole title, 0..100. */
  percent: z.number().min(0).max(100),
  rendition: z.string().optional(),
});

export type EncodeJobProgress = z.infer<typeof encodeProgressSchema>;

/** What a completed job returns. */
export interface EncodeJobResult {
  readonly titleId: string;
  /** False when another worker had already published the title. */
  readonly published: boolean;
  readonly renditions: number;
  readonly encodeTimeS: number;
}

/** Job names of a flow's children (the title job is ENCODE_JOB_NAME). */
export const CHUNK_JOB_NAME = 'encode-chunk';
export const AUDIO_JOB_NAME = 'encode-audio';
/** A per-title analysis's trial group (per-title-trials.ts): the trials of one resolution. */
export const TRIALS_JOB_NAME = 'analyze-trials';

export const trialJobSchema = z.object({
  titleId: z.string().regex(TITLE_ID_PATTERN),
  /** Store key of the master. */
  masterKey: z.string().min(1),
  /** Index of the group in the stored analysis plan. */
  group: z.number().int().nonnegative(),
  /** What the group is, for `vod status` (e.g. `1920x1080 CRF 38,32,26,20`). */
  label: z.string().max(200),
  /**
   * The analysis's wave (title-flow.ts): 0 = the group's first-round trials and its extensions,
   * 1, 2, … = the coarse-to-fine search's refinement rounds. Absent = 0.
   */
  wave: z.number().int().nonnegative().max(100).optional(),
  /** The group's trials this job runs (a subset of the plan's); absent = all of them. */
  trials: z.array(z.object({ width: z.number().int().positive(), height: z.number().int().positive(), crf: z.number().min(0).max(63).optional(), bitrateBps: z.number().positive().optional(), frameRate: z.number().positive().max(240).optional() })).min(1).max(200).optional(),
});
export type TrialJobData = z.infer<typeof trialJobSchema>;

export const childJobSchema = z
  .object({
    titleId: z.string().regex(TITLE_ID_PATTERN),
    /** Store key of the master. */
    masterKey: z.string().min(1),
    /** The audio rendition's folder name (audio children; a video chunk's child encodes every video rendition). */
    rendition: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
    /** The chunk (video children). */
    chunkIndex: z.number().int().nonnegative().optional(),
  })
  .refine((d) => d.chunkIndex !== undefined || d.rendition !== undefined, { message: 'a child job needs a chunkIndex (video) or a rendition (audio)' });
export type ChildJobData = z.infer<typeof childJobSchema>;

/**
 * What a child returns: its encode and quality-measurement times, s (summed into the title's
 * timings). A trial-group child returns zeros: its times are the analysis's (stored with its
 * points, reported in ladder.json).
 */
export interface ChildJobResult {
  readonly encodeS: number;
  readonly measureS?: number;
}

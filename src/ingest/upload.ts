/**
 * `vod upload`'s work: check the master, name it by content, store it, enqueue its encode.
 * Nothing is stored or queued until the master has passed every check.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FfmpegPaths } from '../encoder/ffmpeg.js';
import type { ProbeResult } from '../encoder/media-info.js';
import { inspectMaster } from '../encoder/master-check.js';
import { languageTag } from '../encoder/media-info.js';
import { readSubtitleCues } from '../encoder/subtitles.js';
import { InvalidMasterError } from '../util/errors.js';
import { ensureKeySeed, type Protection } from '../keys/content-keys.js';
import { DEFAULT_LADDER_KIND, masterObjectKey, PUBLISHED_MARKER, subtitleObjectKey, titleObjectKey, type LadderKind } from '../title/title-address.js';
import type { ObjectStore } from '../origin/object-store.js';
import type { EncodeQueue, EncodeJobState } from './encode-queue.js';
import { titleIdFromFile } from './title-id.js';

export interface UploadRequest {
  /** Path of the master on this machine. */
  readonly file: string;
  /** Human title; default the file name without extension. */
  readonly title?: string;
  /** Bitrate ladder to encode. Default 'per-title'. */
  readonly ladder?: LadderKind;
  /** Encrypt the published segments; the title's key seed is created before the job is queued. */
  readonly protection?: Protection;
  /** Subtitle files to publish beside the master's own, each with its language (RFC 5646 or ISO 639-2). */
  readonly subtitles?: readonly { readonly language: string; readonly file: string }[];
}

export interface UploadResult {
  readonly titleId: string;
  readonly title: string;
  readonly probe: ProbeResult;
  /** 'published': already encoded, nothing queued; otherwise the job's state. */
  readonly state: 'published' | EncodeJobState;
  /** True when this upload created the encode job. */
  readonly enqueued: boolean;
}

/**
 * Uploads a master (and its subtitle side files).
 * @throws InvalidMasterError (nothing stored or queued) when the file cannot be encoded, or a
 *         subtitle file has a bad language tag, cannot be read as subtitles or holds no cue;
 *         whatever `deps.queue` throws (an unreachable Redis) before the master is stored.
 */
export async function uploadMaster(
  request: UploadRequest,
  deps: {
    store: ObjectStore;
    /** Opens the queue; called only once the master has passed its checks and is not yet published. */
    queue: () => Promise<EncodeQueue>;
    paths: FfmpegPaths;
    onHashProgress?: (bytes: number) => void;
  },
): Promise<UploadResult> {
  const probe = await inspectMaster(request.file, deps.paths);
  const subtitles = await checkSubtitleFiles(request.subtitles ?? [], deps.paths);
  const fileName = path.basename(request.file);
  const title = (request.title ?? path.parse(fileName).name).trim() || fileName;
  const titleId = await titleIdFromFile(request.file, deps.onHashProgress);

  if (await deps.store.exists(titleObjectKey(titleId, PUBLISHED_MARKER))) {
    return { titleId, title, probe, state: 'published', enqueued: false };
  }
  const queue = await deps.queue();
  const key = masterObjectKey(titleId, fileName);
  if (!(await deps.store.exists(key))) await deps.store.putFile(key, request.file);
  const subtitleFiles = subtitles.map((t, k) => ({ key: subtitleObjectKey(titleId, k + 1, t.language, t.fileName), fileName: t.fileName, language: t.language }));
  for (const [k, f] of subtitleFiles.entries()) await deps.store.putFile(f.key, subtitles[k]!.file);
  if (request.protection) await ensureKeySeed(deps.store, titleId);
  const { created, state } = await queue.enqueue({
    titleId,
    title,
    masterKey: key,
    masterFileName: fileName,
    ladder: request.ladder ?? DEFAULT_LADDER_KIND,
    uploadedAt: new Date().toISOString(),
    ...(request.protection ? { protection: request.protection } : {}),
    ...(subtitleFiles.length > 0 ? { subtitles: subtitleFiles } : {}),
  });
  return { titleId, title, probe, state, enqueued: created };
}

/**
 * Checks subtitle side files before anything is stored: each language must be a language tag
 * (made an RFC 5646 tag, `fre` → `fr`), each file must be subtitles ffmpeg can read (SubRip,
 * WebVTT, ASS, …) with at least one cue.
 * @returns the files with their canonical language tags and file names.
 * @throws InvalidMasterError naming the first bad one.
 */
async function checkSubtitleFiles(files: readonly { language: string; file: string }[], paths: FfmpegPaths): Promise<{ language: string; file: string; fileName: string }[]> {
  const out: { language: string; file: string; fileName: string }[] = [];
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-subtitles-'));
  try {
    for (const f of files) {
      const language = languageTag(f.language);
      if (!language) throw new InvalidMasterError(`subtitles ${f.file}: "${f.language}" is not a language tag (use e.g. en, fr, pt-BR or eng)`);
      try {
        await fs.access(f.file);
      } catch {
        throw new InvalidMasterError(`subtitles ${f.file}: no such file`);
      }
      let cues: number;
      try {
        cues = (await readSubtitleCues(f.file, 0, work, paths)).length;
      } catch (err) {
        throw new InvalidMasterError(`subtitles ${f.file}: not a subtitle file ffmpeg can read (SubRip .srt, WebVTT .vtt, ASS, …)`, { cause: err });
      }
      if (cues === 0) throw new InvalidMasterError(`subtitles ${f.file}: no cue in it`);
      out.push({ language, file: f.file, fileName: path.basename(f.file) });
    }
    return out;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * `vod upload`'s work: check the master, name it by content, store it, enqueue its encode.
 * Nothing is stored or queued until the master has passed every check.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FfmpegPaths } from '../encoder/ffmpeg.js';
import type { VideoCodec } from '../encoder/fixed-ladder.js';
import type { ProbeResult } from '../encoder/media-info.js';
import { admitMaster, type AdmittedMaster } from '../encoder/master-check.js';
import { languageTag } from '../encoder/media-info.js';
import { readSubtitleCues } from '../encoder/subtitles.js';
import { InvalidMasterError } from '../util/errors.js';
import chardet from 'chardet';
import iconv from 'iconv-lite';
import { ensureKeySeed, type Protection } from '../keys/content-keys.js';
import { DEFAULT_LADDER_KIND, masterObjectKey, PUBLISHED_MARKER, subtitleObjectKey, titleObjectKey, type LadderKind } from '../title/title-address.js';
import type { ObjectStore } from '../origin/object-store.js';
import type { EncodeQueue, EncodeJobState } from './encode-queue.js';
import { currentTitleId, titleIdFromFile } from './title-id.js';

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
  /** Video codecs of the ladder; 'hevc' adds an HEVC ladder (per-title only). Default H.264 only. */
  readonly codecs?: readonly VideoCodec[];
}

export interface UploadResult {
  readonly titleId: string;
  readonly title: string;
  readonly probe: ProbeResult;
  /** 'published': already encoded, nothing queued; otherwise the job's state. */
  readonly state: 'published' | EncodeJobState;
  /** True when this upload created the encode job. */
  readonly enqueued: boolean;
  /**
   * Set when the master's picture was not its first video stream: the stored master is a copy
   * with stream `0:v:N` first (master-check.ts admitMaster); N.
   */
  readonly remuxedFromStream?: number;
  /** Set when the master was a raw video stream: the stored master is it wrapped in MP4 (admitMaster); its codec. */
  readonly wrappedRawStream?: string;
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
  // A master remuxed with its picture first, and subtitle files checked (and made UTF-8), are
  // written into a folder of their own and stored from there.
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-upload-'));
  try {
    const master = await admitMaster(request.file, deps.paths, work);
    return await uploadChecked(request, deps, master, await checkSubtitleFiles(request.subtitles ?? [], work, deps.paths));
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** The rest of uploadMaster, once the master and the subtitle files passed their checks. */
async function uploadChecked(
  request: UploadRequest,
  deps: Parameters<typeof uploadMaster>[1],
  master: AdmittedMaster,
  subtitles: readonly { language: string; file: string; fileName: string }[],
): Promise<UploadResult> {
  const { probe } = master;
  const remuxed = { ...(master.remuxedFromStream !== undefined ? { remuxedFromStream: master.remuxedFromStream } : {}), ...(master.wrappedRawStream !== undefined ? { wrappedRawStream: master.wrappedRawStream } : {}) };
  const fileName = path.basename(request.file);
  const title = (request.title ?? path.parse(fileName).name).trim() || fileName;
  const titleId = await currentTitleId(deps.store, await titleIdFromFile(request.file, deps.onHashProgress));

  if (await deps.store.exists(titleObjectKey(titleId, PUBLISHED_MARKER))) {
    return { titleId, title, probe, state: 'published', enqueued: false, ...remuxed };
  }
  const queue = await deps.queue();
  // Named by what is stored: a copy wrapped in MP4 (raw.h264 → raw.h264.mp4) keeps its extension.
  const key = masterObjectKey(titleId, path.basename(master.file));
  if (!(await deps.store.exists(key))) await deps.store.putFile(key, master.file);
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
    ...(request.codecs?.includes('hevc') ? { codecs: ['h264', 'hevc'] as VideoCodec[] } : {}),
  });
  return { titleId, title, probe, state, enqueued: created, ...remuxed };
}

/**
 * Checks subtitle side files before anything is stored: each language must be a language tag
 * (made an RFC 5646 tag, `fre` → `fr`), each file must be subtitles ffmpeg can read (SubRip,
 * WebVTT, ASS, …) with at least one cue. A file that is not UTF-8 (legacy .srt files are often
 * Windows-1252 or another code page) is transcoded to UTF-8 in `work`, its encoding guessed by
 * `chardet` and decoded by `iconv-lite`: ffmpeg and the players read subtitles as UTF-8.
 * @returns the files to store (the original, or its UTF-8 copy in `work`) with their canonical
 *          language tags and the file names they were given as.
 * @throws InvalidMasterError naming the first bad one.
 */
async function checkSubtitleFiles(files: readonly { language: string; file: string }[], work: string, paths: FfmpegPaths): Promise<{ language: string; file: string; fileName: string }[]> {
  const out: { language: string; file: string; fileName: string }[] = [];
  for (const [k, f] of files.entries()) {
    const language = languageTag(f.language);
    if (!language) throw new InvalidMasterError(`subtitles ${f.file}: "${f.language}" is not a language tag (use e.g. en, fr, pt-BR or eng)`);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(f.file);
    } catch {
      throw new InvalidMasterError(`subtitles ${f.file}: no such file`);
    }
    const file = await asUtf8(bytes, f.file, path.join(work, `${k + 1}-${path.basename(f.file)}`));
    let cues: number;
    try {
      cues = (await readSubtitleCues(file, 0, work, paths)).length;
    } catch (err) {
      throw new InvalidMasterError(`subtitles ${f.file}: not a subtitle file ffmpeg can read (SubRip .srt, WebVTT .vtt, ASS, …)`, { cause: err });
    }
    if (cues === 0) throw new InvalidMasterError(`subtitles ${f.file}: no cue in it`);
    out.push({ language, file, fileName: path.basename(f.file) });
  }
  return out;
}

/**
 * A subtitle file as UTF-8: the file itself when its bytes are UTF-8, else a copy at `copyPath`
 * decoded from the encoding chardet guesses (a UTF-8 byte-order mark is kept as is).
 * @throws InvalidMasterError when the encoding cannot be recognised.
 */
async function asUtf8(bytes: Buffer, file: string, copyPath: string): Promise<string> {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return file;
  } catch {
    // not UTF-8: transcode below
  }
  const encoding = chardet.detect(bytes);
  if (!encoding || !iconv.encodingExists(encoding)) throw new InvalidMasterError(`subtitles ${file}: not UTF-8, and its text encoding could not be recognised`);
  await fs.writeFile(copyPath, iconv.decode(bytes, encoding), 'utf8');
  return copyPath;
}

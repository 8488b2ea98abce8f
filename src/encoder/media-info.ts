/**
 * What a media file holds, as the encoder uses it: the shapes `probe` (ffmpeg.ts, the one module
 * that runs ffprobe) returns, and the pure reading of ffprobe's `-show_format -show_streams`
 * output into them (display size from the sample aspect ratio, language tags as RFC 5646 tags,
 * dispositions).
 */

/**
 * The parts of ffprobe's `-show_format -show_streams -of json` output this module reads (ffprobe's
 * JSON writer: integers as numbers, durations, rates and sizes as strings, tags and
 * dispositions as objects, a stream's side data as `side_data_list`).
 */
export interface FfprobeStream {
  readonly index?: number;
  readonly codec_name?: string;
  readonly codec_type?: string;
  readonly width?: number;
  readonly height?: number;
  readonly sample_aspect_ratio?: string;
  readonly pix_fmt?: string;
  readonly field_order?: string;
  readonly color_transfer?: string;
  readonly avg_frame_rate?: string;
  readonly r_frame_rate?: string;
  readonly duration?: string;
  readonly start_time?: string;
  readonly channels?: number;
  readonly sample_rate?: string;
  readonly tags?: Readonly<Record<string, string | undefined>>;
  readonly disposition?: Readonly<Record<string, number | undefined>>;
  readonly side_data_list?: readonly { readonly side_data_type?: string; readonly rotation?: number | string }[];
}

export interface FfprobeData {
  readonly streams?: readonly FfprobeStream[];
  readonly format?: { readonly format_name?: string; readonly duration?: string; readonly size?: string; readonly start_time?: string };
}

export interface VideoStreamInfo {
  readonly codecName: string;
  /** Coded width and height in pixels. */
  readonly width: number;
  readonly height: number;
  /**
   * Display width and height in pixels: the coded size corrected by the sample aspect ratio,
   * then turned by the container's rotation (a phone's portrait video is coded 1920x1080 with a
   * 90° display matrix and shown 1080x1920). ffmpeg's decoding turns the frames the same way
   * (its `-autorotate`, on by default), so every filter graph sees pictures of this shape.
   */
  readonly displayWidth: number;
  readonly displayHeight: number;
  /**
   * The container's rotation of the picture in degrees, 0, 90, 180 or 270 (ffprobe's display
   * matrix side data, or the `rotate` tag older ffprobe builds report); 0 when none.
   */
  readonly rotationDeg: number;
  /**
   * The stream is interlaced (ffprobe's field_order tt, bb, tb or bt: a broadcast 1080i/576i
   * master). Every stage that reads the master's pictures deinterlaces them first
   * (deinterlaceFilter).
   */
  readonly interlaced?: boolean;
  /**
   * The interlaced stream carries film telecined to 29.97i (3:2 pulldown: two of every five
   * frames repeat a field; master-check.ts finds it with FFmpeg's idet, isTelecinePattern). Its
   * pictures are inverse-telecined (ivtcFilter) back to the film's 23.976 frames instead of
   * deinterlaced to 59.94.
   */
  readonly telecined?: boolean;
  /**
   * The stream is HDR, by its transfer function (ffprobe's color_transfer): `pq` (SMPTE ST 2084,
   * HDR10 and Dolby Vision) or `hlg` (ARIB STD-B67, what phones record HDR in). Every stage that
   * reads the master's pictures tone-maps them to SDR BT.709 first (toneMapFilter).
   */
  readonly hdr?: HdrTransfer;
  /** Average frame rate in frames per second (ffprobe's avg_frame_rate, else r_frame_rate). */
  readonly frameRate: number;
  /**
   * A variable-frame-rate stream's cadence, frames/s (master-check.ts frameCadence, from the
   * frames' own times: ffprobe's r_frame_rate equals the average in Matroska): the rate of its
   * usual frame interval, when more than 1% above the average. The title is published at it
   * (outputFrameRate), each gap filled with the frame before: at the average rate, a screen
   * recording at 30 fps while things move and one frame a second while still (20 fps on average)
   * lost a third of its moving frames.
   */
  readonly cadenceFrameRate?: number;
  readonly pixelFormat: string | undefined;
}

export interface AudioStreamInfo {
  readonly codecName: string;
  readonly channels: number;
  readonly sampleRateHz: number;
  /** Position among the master's audio streams (ffmpeg's `-map 0:a:N`), from 0. */
  readonly audioIndex: number;
  /**
   * The stream's language as an RFC 5646 tag (what HLS's LANGUAGE attribute takes, RFC 8216
   * §4.3.4.1): the container's ISO 639-2 tag (`eng`, `fre`) canonicalised by Intl (`en`, `fr`);
   * absent when the master has none or says `und`.
   */
  readonly language?: string | undefined;
  /**
   * The stream's `title` tag, when the master has one (e.g. "Director's commentary"): Matroska
   * and WebM carry it; MP4 keeps a track's name in its handler name, which muxers fill with
   * defaults ("SoundHandler"), so it is not read.
   */
  readonly title?: string | undefined;
  /** The master marks the stream as the default one (disposition `default`). */
  readonly isDefault: boolean;
}

export interface ProbeResult {
  /** Container duration in seconds (format duration, else the longest stream's). */
  readonly durationS: number;
  readonly formatName: string;
  readonly sizeBytes: number;
  /** First video stream, if any (attached pictures such as cover art are ignored). */
  readonly video: VideoStreamInfo | undefined;
  /**
   * Every video stream in the file's order — what `-map 0:v:N` addresses — with its coded size
   * and whether it is an attached picture (cover art). Absent in plans stored before it.
   */
  readonly videoStreams?: readonly { readonly width: number; readonly height: number; readonly attachedPic: boolean }[];
  /** First audio stream, if any (the same object as `audioStreams[0]`). */
  readonly audio: AudioStreamInfo | undefined;
  /** Every audio stream, in the master's order. */
  readonly audioStreams: readonly AudioStreamInfo[];
  /** Every subtitle stream, in the master's order (text and bitmap). */
  readonly subtitleStreams: readonly SubtitleStreamInfo[];
  /**
   * How much later than the file's start (its earliest stream) the video starts, s; 0 when they
   * start together (an MP4 written by ffmpeg) or ffprobe states no start. An MPEG-TS master's
   * audio often starts before its video (1.462 s against 1.483 s). ffmpeg's `-ss` counts from
   * the file's start, so reading the video from a time on its own timeline (a chunk) adds this
   * (master-seek.ts masterSeek). Absent in plans stored before it (then 0).
   */
  readonly videoStartOffsetS?: number;
  /** The file's start time on its own clock, s (ffprobe's format start_time: its earliest stream's; 1.4 s or more in an MPEG-TS, 0 in an MP4); 0 when not stated. */
  readonly startTimeS?: number;
}

/**
 * Subtitle codecs ffmpeg can turn into WebVTT (text formats). Bitmap subtitles (DVD, Blu-ray
 * PGS, DVB) cannot become WebVTT without OCR.
 */
export const TEXT_SUBTITLE_CODECS: readonly string[] = Object.freeze(['subrip', 'srt', 'ass', 'ssa', 'mov_text', 'webvtt', 'text', 'microdvd', 'subviewer', 'realtext', 'sami', 'jacosub']);

export interface SubtitleStreamInfo {
  readonly codecName: string;
  /** Position among the master's subtitle streams (ffmpeg's `-map 0:s:N`), from 0. */
  readonly subtitleIndex: number;
  /** RFC 5646 language tag (languageTag), when the master states one. */
  readonly language?: string | undefined;
  /** The stream's `title` tag (Matroska / WebM), when there is one. */
  readonly title?: string | undefined;
  readonly isDefault: boolean;
  /** Forced subtitles (disposition `forced`): shown when the viewer chose none (foreign dialogue). */
  readonly isForced: boolean;
  /** A text format (TEXT_SUBTITLE_CODECS) that can become WebVTT. */
  readonly isText: boolean;
}

/**
 * A container language tag (ISO 639-2/B or /T as Matroska and MP4 carry it, or already BCP 47)
 * as an RFC 5646 tag: canonicalised with Intl.getCanonicalLocales, which applies CLDR's
 * language aliases (`eng` → `en`, `fre` and `fra` → `fr`, `ger` → `de`).
 * @returns undefined for an absent, undetermined (`und`) or malformed tag.
 */
export function languageTag(tag: string | undefined): string | undefined {
  const t = tag?.trim();
  if (!t || /^und$/i.test(t)) return undefined;
  try {
    return Intl.getCanonicalLocales(t)[0];
  } catch {
    return undefined;
  }
}

const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });

/** A language tag's English name (`fr` → "French", `pt-BR` → "Brazilian Portuguese"; Intl.DisplayNames), the tag itself when unknown. */
export function languageName(tag: string): string {
  return languageNames.of(tag) ?? tag;
}

/**
 * Makes track NAMEs unique within an HLS group (RFC 8216 §4.3.4.1.1): the first use of a name
 * is kept, repeats become "name (2)", "name (3)", ….
 * @returns a function giving the unique form of each name, in call order.
 */
export function uniqueTrackNames(): (name: string) => string {
  const used = new Map<string, number>();
  return (name) => {
    const seen = (used.get(name) ?? 0) + 1;
    used.set(name, seen);
    return seen === 1 ? name : `${name} (${seen})`;
  };
}

/** Sample aspect ratios closer to 1 than this are treated as square pixels. */
const SQUARE_SAR_TOLERANCE = 0.01;

/** Parses ffprobe's rationals: `30000/1001` (rates) or `32:27` (aspect ratios); 0 when unusable. */
function parseRational(text: string | undefined): number {
  if (!text) return 0;
  const [num, den] = text.split(/[/:]/).map(Number);
  if (den === undefined) return Number.isFinite(num) ? num! : 0;
  return den > 0 && Number.isFinite(num) ? num! / den : 0;
}

/** ffprobe's field orders of interlaced video: top or bottom field first, coded and displayed. */
const INTERLACED_FIELD_ORDERS: readonly string[] = ['tt', 'bb', 'tb', 'bt'];

/**
 * The filter that turns an interlaced master's pictures progressive, with its trailing comma,
 * to put first in a chain that reads the master; '' when `interlaced` is not true. bwdif
 * (FFmpeg's motion-adaptive deinterlacer after yadif and w3fdif) in `send_field` mode: a frame
 * per field, so 25i becomes 50p and 29.97i 59.94p (Apple's HLS Authoring Specification 1.10
 * "All interlaced source content MUST be de-interlaced", 1.11 "de-interlace 30i content to 60p
 * instead of 30p"; title-stages.ts outputFrameRate doubles the rate to match); field parity
 * from the stream; only frames flagged interlaced are touched (`deint=interlaced`: the
 * progressive parts of a mixed master pass as they are, and the stages' fps filter or `-r`
 * holds the rate). Without it an interlaced master's combing was encoded into every rung, and
 * measured against a combed reference it cost no VMAF.
 */
export function deinterlaceFilter(interlaced: boolean | undefined): string {
  return interlaced ? 'bwdif=mode=send_field:parity=auto:deint=interlaced,' : '';
}

/** HDR transfer functions, by ffprobe's color_transfer name. */
export type HdrTransfer = 'pq' | 'hlg';
const HDR_TRANSFERS: Readonly<Record<string, HdrTransfer | undefined>> = { smpte2084: 'pq', 'arib-std-b67': 'hlg' };

/**
 * The filters that turn an HDR master's pictures into SDR BT.709, with a trailing comma; '' for
 * an SDR master. zimg (`zscale`) linearises the PQ or HLG signal (transfer, primaries and matrix
 * from the frames' own colour properties) with 100 cd/m² as 1.0, converts BT.2020 primaries to
 * BT.709 in linear light, `tonemap=mobius` compresses what lies above SDR's range while keeping
 * the in-range part as it is (FFmpeg's documentation: "retaining contrast and colors for in-range
 * material as much as possible"; `hable` darkened a 100 cd/m² picture's mean luma from 125 to 85
 * and its mean saturation from 113 to 63, mobius to 112 and 87), and zimg encodes BT.709 again
 * (the recipe of FFmpeg's tonemap documentation). Without it an HDR master was published as if
 * its PQ signal were BT.709: washed out (mean saturation 23 of the picture's 113, contrast range
 * 61–122 of 41–210). The renditions are SDR (HLS's VIDEO-RANGE attribute left at its default, SDR: draft-pantos-hls-rfc8216bis).
 */
export function toneMapFilter(hdr: HdrTransfer | undefined): string {
  return hdr ? 'zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p,' : '';
}

/**
 * How a master's pictures are read (what every spec that reads them carries): deinterlaced
 * (deinterlaceFilter) or inverse-telecined (ivtcFilter), tone-mapped from HDR (toneMapFilter).
 */
export interface MasterPicture {
  /** The master is interlaced: deinterlaced to its field rate (media-info.ts deinterlaceFilter). */
  readonly deinterlace?: boolean | undefined;
  /** The master is telecined film: inverse-telecined to the film's frames (ivtcFilter); wins over `deinterlace`. */
  readonly ivtc?: boolean | undefined;
  /** The master is HDR: tone-mapped to SDR BT.709 (toneMapFilter). */
  readonly hdr?: HdrTransfer | undefined;
}

/** A master's picture handling from its probed video stream (nothing set for a progressive SDR master). */
export function masterPictureOf(video: Pick<VideoStreamInfo, 'interlaced' | 'telecined' | 'hdr'> | undefined): MasterPicture {
  return { ...(video?.telecined ? { ivtc: true } : video?.interlaced ? { deinterlace: true } : {}), ...(video?.hdr ? { hdr: video.hdr } : {}) };
}

/** Only the MasterPicture fields of `o` that are set (for copying them into another spec). */
export function pickMasterPicture(o: MasterPicture): MasterPicture {
  return { ...(o.ivtc ? { ivtc: true } : {}), ...(o.deinterlace ? { deinterlace: true } : {}), ...(o.hdr ? { hdr: o.hdr } : {}) };
}

/**
 * The filters every stage that reads a master's pictures puts first, with a trailing comma:
 * inverse telecine or deinterlacing, then tone mapping ('' for a progressive SDR master).
 */
export function masterPictureFilter(picture: MasterPicture): string {
  return `${picture.ivtc ? ivtcFilter() : deinterlaceFilter(picture.deinterlace)}${toneMapFilter(picture.hdr)}`;
}

/**
 * Inverse telecine, with its trailing comma: FFmpeg's `fieldmatch` pairs each frame's fields
 * with the fields they were shot with (field order from the stream, combed-frame matching on),
 * `yadif` deinterlaces what still combs (a video-originated stretch, a cut in the cadence), and
 * `decimate` drops the one duplicate frame in every five — FFmpeg's documented "advanced IVTC"
 * (fieldmatch's documentation). 29.97i film comes back as the film's 23.976 frames
 * (outputFrameRate), as Apple's HLS Authoring Specification 1.10 asks ("Content SHOULD be
 * published at its native frame rate"), instead of 59.94 deinterlaced frames in which two of
 * every five film frames are shown three fields long (judder) and twice the bits are spent.
 */
export function ivtcFilter(): string {
  return 'fieldmatch=order=auto:combmatch=full,yadif=deint=interlaced,decimate,';
}

/**
 * A video stream's rotation, normalised to 0, 90, 180 or 270 degrees: the display matrix side
 * data's `rotation` (ffprobe ≥ 3.3; counter-clockwise, sign ignored beyond the modulo) else the
 * `rotate` tag (older builds). A rotation that is not a multiple of 90° is taken as the nearest.
 */
function streamRotationDeg(stream: FfprobeStream): number {
  const matrix = stream.side_data_list?.find((d) => d.rotation !== undefined && /display ?matrix/i.test(d.side_data_type ?? 'display matrix'));
  const raw = Number(matrix?.rotation ?? stream.tags?.rotate ?? 0);
  if (!Number.isFinite(raw)) return 0;
  return ((Math.round(raw / 90) * 90) % 360 + 360) % 360;
}

/** A stream's language (languageTag) and title tags, as Matroska and MP4 carry them. */
function streamTags(stream: FfprobeStream): { language: string | undefined; title: string | undefined } {
  const tags = (stream.tags ?? {}) as Record<string, string | undefined>;
  return { language: languageTag(tags.language ?? tags.LANGUAGE), title: (tags.title ?? tags.TITLE)?.trim() || undefined };
}

/**
 * ffprobe's format and streams as a ProbeResult: duration (format duration, else the longest
 * stream's), the first video stream that is not an attached picture, every audio and subtitle
 * stream in the file's order.
 */
export function describeMedia(data: FfprobeData): ProbeResult {
  const streams = data.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !(s.disposition?.attached_pic === 1));
  const streamDurations = streams.map((s) => Number(s.duration)).filter((d) => Number.isFinite(d));
  const formatDuration = Number(data.format?.duration);
  const durationS = Number.isFinite(formatDuration) && formatDuration > 0 ? formatDuration : Math.max(0, ...streamDurations);
  let video: VideoStreamInfo | undefined;
  if (v && v.width && v.height) {
    // A SAR within 1% of square (e.g. the 399:400 of the shared Tears of Steel WebM) is a
    // rounding artefact of the muxer, not anamorphic video: treat it as square.
    const rawSar = parseRational(v.sample_aspect_ratio) || 1;
    const sar = Math.abs(rawSar - 1) < SQUARE_SAR_TOLERANCE ? 1 : rawSar;
    const sarWidth = sar >= 1 ? Math.round(v.width * sar) : v.width;
    const sarHeight = sar >= 1 ? v.height : Math.round(v.height / sar);
    const rotationDeg = streamRotationDeg(v);
    const quarterTurn = rotationDeg === 90 || rotationDeg === 270;
    video = {
      codecName: v.codec_name ?? 'unknown',
      width: v.width,
      height: v.height,
      displayWidth: quarterTurn ? sarHeight : sarWidth,
      displayHeight: quarterTurn ? sarWidth : sarHeight,
      rotationDeg,
      ...(INTERLACED_FIELD_ORDERS.includes(v.field_order ?? '') ? { interlaced: true } : {}),
      ...(HDR_TRANSFERS[v.color_transfer ?? ''] ? { hdr: HDR_TRANSFERS[v.color_transfer ?? '']! } : {}),
      frameRate: parseRational(v.avg_frame_rate) || parseRational(v.r_frame_rate),
      pixelFormat: v.pix_fmt,
    };
  }
  const videoStreams = streams.filter((s) => s.codec_type === 'video').map((s) => ({ width: s.width ?? 0, height: s.height ?? 0, attachedPic: s.disposition?.attached_pic === 1 }));
  const audioStreams: AudioStreamInfo[] = streams
    .filter((s) => s.codec_type === 'audio')
    .map((a, audioIndex) => {
      const { language, title } = streamTags(a);
      return {
        codecName: a.codec_name ?? 'unknown',
        channels: a.channels ?? 0,
        sampleRateHz: Number(a.sample_rate) || 0,
        audioIndex,
        ...(language ? { language } : {}),
        ...(title ? { title } : {}),
        isDefault: a.disposition?.default === 1,
      };
    });
  const subtitleStreams: SubtitleStreamInfo[] = streams
    .filter((s) => s.codec_type === 'subtitle')
    .map((t, subtitleIndex) => {
      const { language, title } = streamTags(t);
      const codecName = t.codec_name ?? 'unknown';
      return {
        codecName,
        subtitleIndex,
        ...(language ? { language } : {}),
        ...(title ? { title } : {}),
        isDefault: t.disposition?.default === 1,
        isForced: t.disposition?.forced === 1,
        isText: TEXT_SUBTITLE_CODECS.includes(codecName),
      };
    });
  const videoStart = Number(v?.start_time);
  const fileStart = Number(data.format?.start_time);
  const videoStartOffsetS = Number.isFinite(videoStart) && Number.isFinite(fileStart) ? Math.max(0, videoStart - fileStart) : 0;
  return {
    durationS,
    videoStartOffsetS,
    startTimeS: Number.isFinite(fileStart) ? fileStart : 0,
    formatName: data.format?.format_name ?? 'unknown',
    sizeBytes: Number(data.format?.size) || 0,
    video,
    videoStreams,
    audio: audioStreams[0],
    audioStreams,
    subtitleStreams,
  };
}

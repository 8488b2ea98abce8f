/**
 * A title's audio renditions: which the master's audio streams become (planAudioTracks: AAC-LC
 * stereo for every stream, AC-3 5.1 too for surround streams) and how they are grouped in the
 * multivariant playlist (audioGroups: RFC 8216 §4.3.4.1.1 renditions of one group are
 * alternatives of the same content; a variant names one group).
 */
import type { AudioRenditionRecord } from '../origin/catalog.js';
import type { AudioRenditionEntry } from './hls-packager.js';
import { languageName, uniqueTrackNames, type AudioStreamInfo } from './media-info.js';
import type { AudioCodec } from './rendition.js';

/** AAC-LC stereo at 128 kbit/s: Apple HLS Authoring Specification §3 (audio) lists it for stereo. */
export const AUDIO_BITRATE_BPS = 128_000;
export const AUDIO_GROUP_ID = 'audio-aac';
export const AUDIO_RENDITION_NAME = `audio_aac_${AUDIO_BITRATE_BPS / 1000}k`;
/** AC-3 5.1 at 384 kbit/s for masters with surround sound: Dolby's usual 5.1 rate for broadcast and streaming (DVD allows up to 448). */
export const SURROUND_BITRATE_BPS = 384_000;
export const SURROUND_GROUP_ID = 'audio-ac3';
export const SURROUND_RENDITION_NAME = `audio_ac3_${SURROUND_BITRATE_BPS / 1000}k`;

/** One audio rendition of a title: one audio stream of the master as AAC-LC stereo, or as AC-3 5.1. */
export interface AudioTrackPlan {
  /**
   * Rendition folder: `audio_aac_128k` (or `audio_ac3_384k`) for the master's first audio
   * stream, with `_<n>` for its n-th stream after that.
   */
  readonly name: string;
  /** Which of the master's audio streams (`-map 0:a:N`). */
  readonly audioIndex: number;
  /** AAC-LC stereo (every stream) or AC-3 5.1 (streams of 6 channels or more). Default 'aac' (plans of earlier versions). */
  readonly codec?: AudioCodec;
  /** Output channels: 2, or 6 for AC-3. */
  readonly channels?: number;
  readonly bitrateBps: number;
  /** The master's rate when it is 44.1 or 48 kHz, else 48 kHz. */
  readonly sampleRateHz: number;
  /** RFC 5646 language tag (EXT-X-MEDIA LANGUAGE), when the master states one. */
  readonly language?: string | undefined;
  /** EXT-X-MEDIA NAME: unique within the title's audio group. */
  readonly label: string;
  /** EXT-X-MEDIA DEFAULT=YES: exactly one track of a title has it. */
  readonly isDefault: boolean;
}

/**
 * The audio renditions of a master: every audio stream becomes AAC-LC stereo at
 * AUDIO_BITRATE_BPS, with LANGUAGE, NAME and DEFAULT from the master's metadata (RFC 8216
 * §4.3.4.1: NAMEs differ within a group, at most one DEFAULT=YES); a stream of 6 channels or
 * more also becomes AC-3 5.1 at SURROUND_BITRATE_BPS (same NAME and LANGUAGE), listed after
 * every AAC track.
 * NAME is the stream's title tag, else its language's English name (languageName), else
 * "Main" for the first stream and "Audio <n>" for the others; a repeated NAME gets " (2)",
 * " (3)", …. DEFAULT goes to the first stream the master marks default, else the first stream.
 * @param streams the master's audio streams (ProbeResult.audioStreams), in order.
 */
export function planAudioTracks(streams: readonly AudioStreamInfo[]): AudioTrackPlan[] {
  const defaultAt = Math.max(0, streams.findIndex((s) => s.isDefault));
  const unique = uniqueTrackNames();
  const stereo = streams.map(
    (s, k): AudioTrackPlan => ({
      name: k === 0 ? AUDIO_RENDITION_NAME : `${AUDIO_RENDITION_NAME}_${k + 1}`,
      audioIndex: s.audioIndex,
      codec: 'aac',
      channels: 2,
      bitrateBps: AUDIO_BITRATE_BPS,
      sampleRateHz: [44_100, 48_000].includes(s.sampleRateHz) ? s.sampleRateHz : 48_000,
      ...(s.language ? { language: s.language } : {}),
      label: unique(s.title ?? (s.language ? languageName(s.language) : k === 0 ? 'Main' : `Audio ${k + 1}`)),
      isDefault: k === defaultAt,
    }),
  );
  // A 5.1 (or wider) stream also becomes AC-3 5.1, for devices that decode it (packageTitle
  // puts these in their own audio group).
  const surround = streams.flatMap((s, k): AudioTrackPlan[] =>
    s.channels >= 6 ? [{ ...stereo[k]!, name: k === 0 ? SURROUND_RENDITION_NAME : `${SURROUND_RENDITION_NAME}_${k + 1}`, codec: 'ac3', channels: 6, bitrateBps: SURROUND_BITRATE_BPS, sampleRateHz: 48_000 }] : [],
  );
  return [...stereo, ...surround];
}

/** One audio group of the multivariant playlist and what a variant naming it must declare. */
export interface AudioGroup {
  readonly groupId: string;
  readonly entries: AudioRenditionEntry[];
  /** Largest peak / average bit rate of its renditions, bits/s (a variant's BANDWIDTH adds it: RFC 8216 §4.3.4.2). */
  readonly peakBitrateBps: number;
  readonly averageBitrateBps: number;
  /** Every codec its renditions use (the variant's CODECS lists them all). */
  readonly codecs: string[];
}

const isSurround = (a: AudioRenditionRecord): boolean => a.codecs === 'ac-3' || a.codecs === 'ec-3';

/**
 * The audio groups of a title: `audio-aac` holds every AAC stereo rendition; when some stream
 * also has an AC-3 5.1 rendition, `audio-ac3` holds, for every stream, its AC-3 rendition or
 * (a stereo stream) its AAC one again — so every language is in both groups, and a device
 * without AC-3 uses the first group's variants (hls.js drops variants whose CODECS the browser
 * cannot play). DEFAULT follows the AAC track marked default.
 * @param audio the measured renditions (records of earlier versions have no audioIndex: all AAC).
 * @returns no group when the title has no audio.
 */
export function audioGroups(audio: readonly AudioRenditionRecord[]): AudioGroup[] {
  const stereo = audio.filter((a) => !isSurround(a));
  if (stereo.length === 0) return [];
  const defaultIndex = (stereo.find((a) => a.isDefault) ?? stereo[0]!).audioIndex;
  const entry = (groupId: string, a: AudioRenditionRecord, isDefault: boolean): AudioRenditionEntry => ({
    groupId,
    name: a.name ?? 'Main',
    uri: a.uri,
    channels: a.channels,
    ...(a.language ? { language: a.language } : {}),
    isDefault,
  });
  const group = (groupId: string, members: readonly AudioRenditionRecord[]): AudioGroup => ({
    groupId,
    entries: members.map((a, k) => entry(groupId, a, a.audioIndex === undefined ? k === 0 : a.audioIndex === defaultIndex)),
    peakBitrateBps: Math.max(...members.map((a) => a.peakBitrateBps)),
    averageBitrateBps: Math.max(...members.map((a) => a.averageBitrateBps)),
    codecs: [...new Set(members.map((a) => a.codecs))],
  });
  const groups = [group(AUDIO_GROUP_ID, stereo)];
  const surround = audio.filter(isSurround);
  if (surround.length > 0) groups.push(group(SURROUND_GROUP_ID, stereo.map((a) => surround.find((s) => s.audioIndex === a.audioIndex) ?? a)));
  return groups;
}

/**
 * describeMedia on hand-written ffprobe JSON (pure; the integration tests in
 * test/integration/encoder/ffmpeg.test.ts probe real files): the display size from the sample
 * aspect ratio and the container's rotation, in both ways ffprobe builds report rotation; HDR by
 * transfer function; and where an interlaced or HDR master is deinterlaced or tone-mapped in the
 * quality graphs.
 */
import { describe, expect, it } from 'vitest';
import { describeMedia, masterPictureFilter, masterPictureOf, type FfprobeStream } from '../../../src/encoder/media-info.js';
import { batchGraph, referenceGraph } from '../../../src/encoder/quality-graph.js';
import { checkMainPicture } from '../../../src/encoder/master-check.js';

const video = (extra: Partial<FfprobeStream>): FfprobeStream => ({ codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080, sample_aspect_ratio: '1:1', avg_frame_rate: '30/1', pix_fmt: 'yuv420p', ...extra });
const shown = (extra: Partial<FfprobeStream>) => {
  const v = describeMedia({ streams: [video(extra)], format: { duration: '10.0', format_name: 'mov,mp4', size: '1000' } }).video!;
  return [v.displayWidth, v.displayHeight, v.rotationDeg];
};

describe('describeMedia: display size', () => {
  it("turns the display size by a display matrix's quarter turn in either direction, not by a half turn", () => {
    expect(shown({})).toEqual([1920, 1080, 0]);
    expect(shown({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: 90 }] })).toEqual([1080, 1920, 90]);
    expect(shown({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] })).toEqual([1080, 1920, 270]);
    expect(shown({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: 180 }] })).toEqual([1920, 1080, 180]);
    expect(shown({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: -180 }] })).toEqual([1920, 1080, 180]);
  });

  it("reads older ffprobe builds' rotate tag when there is no display matrix", () => {
    expect(shown({ tags: { rotate: '270' } })).toEqual([1080, 1920, 270]);
    expect(shown({ tags: { rotate: 'sideways' } })).toEqual([1920, 1080, 0]);
  });

  it('applies the sample aspect ratio before the rotation', () => {
    // 720x576 at 64:45 is shown 1024x576; turned, 576x1024.
    expect(shown({ width: 720, height: 576, sample_aspect_ratio: '64:45', side_data_list: [{ side_data_type: 'Display Matrix', rotation: 90 }] })).toEqual([576, 1024, 90]);
  });
});

describe('a master with several video streams', () => {
  const probed = (...streams: FfprobeStream[]) => describeMedia({ streams, format: { duration: '10.0', format_name: 'matroska,webm', size: '1000' } });
  const cover = video({ codec_name: 'mjpeg', width: 600, height: 600, disposition: { attached_pic: 1 } });
  const preview = video({ width: 160, height: 90 });

  it('is taken when its first video stream is its largest picture (what every encode reads as 0:v:0)', () => {
    expect(() => checkMainPicture('m.mkv', probed(video({}), preview, cover))).not.toThrow();
    expect(probed(video({}), cover).videoStreams).toEqual([{ width: 1920, height: 1080, attachedPic: false }, { width: 600, height: 600, attachedPic: true }]);
  });

  it('is refused with the remux command when a cover picture or a smaller picture comes first', () => {
    expect(() => checkMainPicture('m.mkv', probed(cover, video({})))).toThrow(/^m\.mkv has 2 video streams and the first \(600x600, a cover picture\) is not its main picture \(1920x1080, stream 0:v:1\); .* ffmpeg -i m\.mkv -map 0:v:1 -map 0:a\? -map 0:s\? -c copy main\.mkv$/);
    expect(() => checkMainPicture('m.mkv', probed(preview, cover, video({})))).toThrow(/the first \(160x90\) is not its main picture \(1920x1080, stream 0:v:2\)/);
  });
});

describe('an interlaced reference in the quality graphs', () => {
  const spec = { reference: '/m.ts', width: 640, height: 360, frameRate: 50, deinterlace: true, psnr: true, ssim: false } as const;
  const files = () => ({ psnr: 'p.log', ssim: 's.log', vmafLog: 'v.json' });

  it('deinterlaces the master read as the reference, never the encodes compared with it', () => {
    const graph = batchGraph(spec, 2, files, undefined);
    const [reference, ...distorted] = graph.split(';');
    expect(reference).toMatch(/^\[0:v\]bwdif=mode=send_field:parity=auto:deint=interlaced,setpts=PTS-STARTPTS,fps=fps=50,/);
    expect(distorted.join(';')).not.toMatch(/bwdif/);
    // Windows of the master (a chunk, the per-title sample): each one deinterlaced.
    expect(referenceGraph({ ...spec, referenceWindows: [{ startS: 0, durationS: 4 }, { startS: 8, durationS: 4 }] }, 'null[ref]').match(/bwdif/g)).toHaveLength(2);
    // A progressive master: no deinterlacer anywhere.
    expect(batchGraph({ ...spec, deinterlace: false }, 2, files, undefined)).not.toMatch(/bwdif/);
  });
});

describe('an HDR master', () => {
  const hdrOf = (extra: Partial<FfprobeStream>) => describeMedia({ streams: [video(extra)], format: { duration: '10.0', format_name: 'mov,mp4', size: '1000' } }).video!.hdr;
  it('is told by its transfer function: PQ and HLG; BT.709, BT.2020 SDR and an unstated one are SDR', () => {
    expect(hdrOf({ color_transfer: 'smpte2084' })).toBe('pq');
    expect(hdrOf({ color_transfer: 'arib-std-b67' })).toBe('hlg');
    for (const t of ['bt709', 'bt2020-10', 'unknown', undefined]) expect(hdrOf({ color_transfer: t })).toBeUndefined();
  });

  it('is tone-mapped after deinterlacing, in the reference only', () => {
    expect(masterPictureOf({ interlaced: true, hdr: 'pq' })).toEqual({ deinterlace: true, hdr: 'pq' });
    expect(masterPictureOf(undefined)).toEqual({});
    expect(masterPictureFilter({ deinterlace: true, hdr: 'hlg' })).toMatch(/^bwdif=[^,]*,zscale=t=linear:npl=100,.*tonemap=tonemap=mobius.*zscale=t=bt709:m=bt709:r=tv,format=yuv420p,$/);
    expect(masterPictureFilter({})).toBe('');
    const spec = { reference: '/m.mp4', width: 640, height: 360, frameRate: 25, hdr: 'pq', psnr: true, ssim: false } as const;
    const [reference, ...distorted] = batchGraph(spec, 1, () => ({ psnr: 'p.log', ssim: 's.log', vmafLog: 'v.json' }), undefined).split(';');
    expect(reference).toMatch(/^\[0:v\]zscale=t=linear/);
    expect(distorted.join(';')).not.toMatch(/tonemap/);
  });
});

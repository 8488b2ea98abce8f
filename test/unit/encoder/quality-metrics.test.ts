/**
 * Parsing of ffmpeg's psnr/ssim stats files and libvmaf's JSON log (text in, numbers out;
 * the filters themselves run in the integration tests).
 */
import { describe, expect, it } from 'vitest';
import { parsePsnrStats, parseSsimStats, parseVmafLog, psnrFromMse, PSNR_CAP_DB, scoreOf } from '../../../src/encoder/quality-metrics.js';

describe('quality metric parsers', () => {
  it('computes luma PSNR from the mean luma MSE, capped for identical frames', () => {
    expect(psnrFromMse(65.025)).toBeCloseTo(30, 10); // 255² / 65.025 = 1000 → 30 dB
    expect(psnrFromMse(0)).toBe(PSNR_CAP_DB);
    const stats = [
      'n:1 mse_avg:10.00 mse_y:50.00 mse_u:1.00 mse_v:1.00 psnr_avg:38.1 psnr_y:31.1 psnr_u:48.1 psnr_v:48.1 ',
      'n:2 mse_avg:10.00 mse_y:80.05 mse_u:1.00 mse_v:1.00 psnr_avg:38.1 psnr_y:29.1 psnr_u:48.1 psnr_v:48.1 ',
    ].join('\n');
    const r = parsePsnrStats(stats);
    expect(r.frames).toBe(2);
    expect(r.psnrDb).toBeCloseTo(psnrFromMse(65.025), 10);
    expect(() => parsePsnrStats('')).toThrow(/no frames/);
  });

  it('averages per-frame luma SSIM', () => {
    expect(parseSsimStats('n:1 Y:0.900000 U:0.95 V:0.95 All:0.92 (11.0)\nn:2 Y:0.800000 U:0.95 V:0.95 All:0.88 (9.2)\n')).toBeCloseTo(0.85, 10);
  });

  it('averages per-frame VMAF from the JSON log and picks the ladder metric', () => {
    const log = JSON.stringify({ frames: [{ frameNum: 0, metrics: { vmaf: 90 } }, { frameNum: 6, metrics: { vmaf: 80 } }] });
    expect(parseVmafLog(log)).toBe(85);
    expect(() => parseVmafLog('{"frames":[]}')).toThrow(/no frames/);
    expect(scoreOf({ psnrDb: 40, vmaf: 85 }, 'vmaf')).toBe(85);
    expect(scoreOf({ psnrDb: 40 }, 'psnr')).toBe(40);
    expect(() => scoreOf({ psnrDb: 40 }, 'vmaf')).toThrow(/no model/);
  });
});

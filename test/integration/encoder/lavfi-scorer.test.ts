/**
 * Scoring in the bundled ffprobe's lavfi device (libvmaf 2.x): which model files it stands in for,
 * whether the binary can, and how a graph run there fails or is cancelled. Real binaries.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { BUILT_IN_VMAF_V061, builtInVmafModelFor, lavfiVmafAvailable, linkGraphInputs, runLavfiGraph } from '../../../src/encoder/lavfi-scorer.js';
import { parseVmafFrames } from '../../../src/encoder/frame-scores.js';
import { vmafScoredByLibvmaf1 } from '../../../src/encoder/lavfi-scorer.js';
import { EncodeCancelledError, FfmpegError } from '../../../src/util/errors.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { SHARED_VMAF_MODEL as VMAF_MODEL } from '../../helpers/vmaf-model.js';

let paths: FfmpegPaths;
let dir: string;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
});

describe('lavfi scorer', () => {
  it("stands in for Netflix's v0.6.1 model files only, by their bytes", async () => {
    expect(await builtInVmafModelFor(VMAF_MODEL)).toBe(BUILT_IN_VMAF_V061);
    // The same model under another name is still that model.
    const renamed = path.join(dir, 'my model.pkl');
    await fs.copyFile(VMAF_MODEL, renamed);
    await fs.copyFile(`${VMAF_MODEL}.model`, `${renamed}.model`);
    expect(await builtInVmafModelFor(renamed)).toBe(BUILT_IN_VMAF_V061);
    // One changed byte in the SVM file: another model, scored from its own files in libvmaf 1.x.
    const other = path.join(dir, 'other.pkl');
    await fs.copyFile(VMAF_MODEL, other);
    const svm = await fs.readFile(`${VMAF_MODEL}.model`);
    svm[svm.length - 2] = svm[svm.length - 2]! ^ 1;
    await fs.writeFile(`${other}.model`, svm);
    expect(await builtInVmafModelFor(other)).toBeUndefined();
    expect(await builtInVmafModelFor(path.join(dir, 'missing.pkl'))).toBeUndefined();
  });

  it('says which models libvmaf 1.x scores (where the host\'s huge pages matter): another model, or every model with VOD_LIBVMAF=1', async () => {
    expect(await vmafScoredByLibvmaf1(VMAF_MODEL, paths)).toBe(false);
    const other = path.join(dir, 'custom.pkl');
    await fs.writeFile(other, 'not the v0.6.1 model');
    await fs.writeFile(`${other}.model`, 'svm');
    expect(await vmafScoredByLibvmaf1(other, paths)).toBe(true);
    process.env.VOD_LIBVMAF = '1';
    try {
      expect(await vmafScoredByLibvmaf1(VMAF_MODEL, paths)).toBe(true);
    } finally {
      delete process.env.VOD_LIBVMAF;
    }
  });

  it('finds libvmaf 2.x in the bundled ffprobe and not in the bundled ffmpeg (libvmaf 1.x)', async () => {
    expect(await lavfiVmafAvailable(paths)).toBe(true);
    expect(await lavfiVmafAvailable({ ffmpegPath: paths.ffmpegPath, ffprobePath: paths.ffmpegPath })).toBe(false);
    expect(await lavfiVmafAvailable({ ffmpegPath: paths.ffmpegPath, ffprobePath: path.join(dir, 'no-such-ffprobe') })).toBe(false);
  });

  it('scores inputs whose paths need escaping, reports progress, and fails or is cancelled cleanly', async () => {
    const odd = path.join(dir, "it's, a: [master].mp4");
    await makeSyntheticMaster({ path: odd, durationS: 2, width: 320, height: 180, audio: false }, paths);
    const work = await fs.mkdtemp(path.join(dir, 'graph-'));
    const [a, b] = await linkGraphInputs([odd, odd], work);
    const progress: number[] = [];
    await runLavfiGraph(`${a}null[r];${b}null[d];[d][r]libvmaf=model=version=${BUILT_IN_VMAF_V061}:log_path=v.json:log_fmt=json[out0]`, work, { frames: 48, frameRate: 24 }, paths, { onProgress: (f) => progress.push(f) });
    const scores = parseVmafFrames(await fs.readFile(path.join(work, 'v.json'), 'utf8'));
    expect(scores).toHaveLength(48);
    expect(Math.min(...scores)).toBeGreaterThan(97); // the file against itself
    expect(progress.at(-1)).toBe(1);

    const broken = runLavfiGraph(`${a}nosuchfilter[out0]`, work, { frames: 48, frameRate: 24 }, paths);
    await expect(broken).rejects.toBeInstanceOf(FfmpegError);
    await expect(broken).rejects.toThrow(/ffprobe failed running the comparison graph[\s\S]*nosuchfilter/);

    const controller = new AbortController();
    const long = runLavfiGraph(`${a}loop=loop=-1:size=48,split[x][y];[x][y]libvmaf=model=version=${BUILT_IN_VMAF_V061}[out0]`, work, { frames: 0, frameRate: 24 }, paths, {
      signal: controller.signal,
      onStart: () => setTimeout(() => controller.abort(new Error('stop it')), 300),
    });
    await expect(long).rejects.toBeInstanceOf(EncodeCancelledError);
    await expect(long).rejects.toThrow('stop it');
  });
});

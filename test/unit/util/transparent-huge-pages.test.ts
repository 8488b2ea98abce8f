import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTransparentHugePagesMode, transparentHugePagesMode, vmafThpAdvice } from '../../../src/util/transparent-huge-pages.js';

describe('transparent huge pages', () => {
  it('reads the bracketed mode', () => {
    expect(parseTransparentHugePagesMode('always [madvise] never\n')).toBe('madvise');
    expect(parseTransparentHugePagesMode('[always] madvise never')).toBe('always');
    expect(parseTransparentHugePagesMode('always madvise [never]')).toBe('never');
    expect(parseTransparentHugePagesMode('always madvise never')).toBeUndefined();
    expect(parseTransparentHugePagesMode('[sometimes]')).toBeUndefined();
  });

  it('reads a file, and has no mode where there is none', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'thp-'));
    try {
      await fs.writeFile(path.join(dir, 'enabled'), 'always madvise [never]\n');
      expect(await transparentHugePagesMode(path.join(dir, 'enabled'))).toBe('never');
      expect(await transparentHugePagesMode(path.join(dir, 'missing'))).toBeUndefined();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('advises only when the mode slows libvmaf down', () => {
    expect(vmafThpAdvice('always')).toBeUndefined();
    expect(vmafThpAdvice(undefined)).toBeUndefined();
    expect(vmafThpAdvice('madvise')).toMatch(/'madvise'.*echo always > \/sys\/kernel\/mm\/transparent_hugepage\/enabled/);
    expect(vmafThpAdvice('never')).toMatch(/'never'/);
  });
});

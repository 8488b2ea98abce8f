import { describe, expect, it } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { UserError } from '../../src/util/errors.js';

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c.dataDir).toBe(`${PROJECT_ROOT}/data`);
    expect(c.segmentDurationS).toBe(4);
    expect(c.redisUrl).toBeUndefined();
    expect(c.originPort).toBe(8080);
    expect(c.edgePort).toBe(8081);
    expect(c.publicEdgeUrl).toBe('http://localhost:8081');
    expect(c.x264Preset).toBe('medium');
    expect(c.vmafModelPath).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the bad variable in one sentence', () => {
    expect(() => loadConfig({ VOD_WORKER_LOCK_MS: 'soon' })).toThrow(UserError);
    expect(() => loadConfig({ VOD_WORKER_LOCK_MS: 'soon' })).toThrow(/^Environment variable VOD_WORKER_LOCK_MS is invalid/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
  });

  it('accepts a VMAF model only when the .pkl and its .pkl.model exist', () => {
    const model = `${PROJECT_ROOT}/../shared/vmaf/vmaf_v0.6.1.pkl`;
    expect(loadConfig({ VMAF_MODEL: model }).vmafModelPath).toMatch(/\/shared\/vmaf\/vmaf_v0\.6\.1\.pkl$/);
    expect(() => loadConfig({ VMAF_MODEL: '/nonexistent/model.pkl' })).toThrow(/^Environment variable VMAF_MODEL is invalid: no such model file/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ REDIS_URL: '' }).redisUrl).toBeUndefined();
  });
});

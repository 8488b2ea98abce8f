import { defineConfig } from 'vitest/config';

// Test files run one at a time: encodes use both cores, and timing-sensitive parts
// (worker locks, playback) must not compete with another file's ffmpeg.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/cleanup-temp-dirs.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

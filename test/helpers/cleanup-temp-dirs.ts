/**
 * Vitest setup file: after a test file's own afterAll hooks (hooks run as a stack, so this one,
 * registered first, runs last — servers and Redis started in the folders are stopped by then),
 * its temp folders are removed.
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dir.js';

afterAll(removeTempDirs);

import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/util/logger.js';
import { RateLimitedLog } from '../../../src/util/rate-limited-log.js';

describe('RateLimitedLog', () => {
  it('lets perWindow lines through per window, then says how many it dropped', () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const log = { warn: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }) } as unknown as Logger;
    let now = 0;
    const limited = new RateLimitedLog(log, 3, 1000, () => now);
    for (let i = 0; i < 10; i++) limited.warn({ i }, 'event');
    expect(lines.map((l) => l.fields.i)).toEqual([0, 1, 2]);
    now = 1000;
    limited.warn({ i: 10 }, 'event');
    expect(lines.slice(3)).toEqual([
      { fields: { dropped: 7 }, message: 'log lines dropped by rate limit' },
      { fields: { i: 10 }, message: 'event' },
    ]);
  });
});

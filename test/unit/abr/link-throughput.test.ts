import { describe, expect, it } from 'vitest';
import { bytesDuring, uncoveredMs } from '../../../src/abr/link-throughput.js';

describe('bytesDuring', () => {
  it('credits each load its bytes in proportion to its span inside the window', () => {
    const window = { startMs: 1000, endMs: 5000 };
    expect(bytesDuring(window, [{ startMs: 2000, endMs: 3000, bytes: 100 }], 9000)).toBe(100); // wholly inside
    expect(bytesDuring(window, [{ startMs: 0, endMs: 2000, bytes: 100 }], 9000)).toBe(0); // starts at 0: never started
    expect(bytesDuring(window, [{ startMs: 500, endMs: 1500, bytes: 100 }], 9000)).toBe(50); // half inside
    expect(bytesDuring(window, [{ startMs: 4000, endMs: 8000, bytes: 400 }], 9000)).toBe(100); // a quarter inside
    expect(bytesDuring(window, [{ startMs: 5000, endMs: 6000, bytes: 100 }], 9000)).toBe(0); // after
    // Still loading: its bytes so far over its span up to now.
    expect(bytesDuring(window, [{ startMs: 3000, bytes: 300 }], 6000)).toBe(200);
    expect(bytesDuring(window, [{ startMs: 2000, endMs: 3000, bytes: 100 }, { startMs: 4000, endMs: 8000, bytes: 400 }], 9000)).toBe(200);
  });
});

describe('uncoveredMs', () => {
  it('is the window less the union of the spans inside it', () => {
    const window = { startMs: 1000, endMs: 9000 };
    expect(uncoveredMs(window, [], 10_000)).toBe(8000);
    expect(uncoveredMs(window, [{ startMs: 0, endMs: 1160 }], 10_000)).toBe(7840); // overlaps its start
    // Overlapping spans count once: 2000–5000 ∪ 4000–6000 = 4000 ms covered.
    expect(uncoveredMs(window, [{ startMs: 4000, endMs: 6000 }, { startMs: 2000, endMs: 5000 }], 10_000)).toBe(4000);
    expect(uncoveredMs(window, [{ startMs: 3000, endMs: 4000 }, { startMs: 3200, endMs: 3500 }], 10_000)).toBe(7000); // one inside another
    expect(uncoveredMs(window, [{ startMs: 8000 }], 8500)).toBe(7500); // still loading: covers up to now
    expect(uncoveredMs(window, [{ startMs: 0, endMs: 20_000 }], 20_000)).toBe(0);
  });
});

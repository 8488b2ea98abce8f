import { describe, expect, it } from 'vitest';
import { ObjectIdTable } from '../../../src/simulator/object-ids.js';
import { TraceBuilder } from '../../../src/simulator/trace.js';

describe('ObjectIdTable', () => {
  it('numbers ids densely by first appearance and maps back, for every kind of id', () => {
    const t = new ObjectIdTable();
    const ids: (number | string)[] = [0, 7, 2 ** 53 - 1, '/vod/a/1.m4s', '18446744073709551615', 1.5, -3, 4294967296, 4294967297, 'x'];
    ids.forEach((id, i) => expect(t.intern(id)).toBe(i));
    ids.forEach((id, i) => expect(t.intern(id)).toBe(i));
    expect(t.size).toBe(ids.length);
    ids.forEach((id, i) => expect(t.get(i)).toBe(id));
    // A number and the string of its digits are different ids (CSV ids are numbers only when all digits).
    expect(t.intern('7')).toBe(ids.length);
    expect(() => t.get(ids.length + 1)).toThrow(RangeError);
  });

  it('keeps every id through many rehashes, with ids that collide in their low bits', () => {
    const t = new ObjectIdTable();
    const n = 300_000;
    for (let i = 0; i < n; i++) expect(t.intern(i * 2 ** 32)).toBe(i);
    for (let i = n - 1; i >= 0; i -= 997) expect(t.intern(i * 2 ** 32)).toBe(i);
    expect(t.size).toBe(n);
    expect(t.get(n - 1)).toBe((n - 1) * 2 ** 32);
  });

  it('holds more objects than a JavaScript Map can (2^24 = 16,777,216): a trace of 17 million', () => {
    const objects = 17_000_000;
    const b = new TraceBuilder(objects);
    for (let i = 0; i < objects; i++) b.add(i * 524287 + 11, 1, i);
    b.add(11, 1, objects);
    const trace = b.build('huge');
    expect(trace.uniqueObjects).toBe(objects);
    expect(trace.requests).toBe(objects + 1);
    expect(trace.ids[objects]).toBe(0);
    expect(trace.uniqueBytes).toBe(objects);
    expect(trace.sourceIds.get(objects - 1)).toBe((objects - 1) * 524287 + 11);
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import { rankEdges } from '../../../src/edge-cache/steering.js';
import { CircuitBreaker } from '../../../src/edge-cache/circuit-breaker.js';

const titles = Array.from({ length: 2000 }, (_, i) => i.toString(16).padStart(16, '0'));
const edges = (n: number) => Array.from({ length: n }, (_, i) => `http://edge${i}.example:8081`);

describe('rendezvous placement', () => {
  it('spreads titles evenly over the edges', () => {
    const counts = new Map<string, number>();
    for (const t of titles) {
      const first = rankEdges(t, edges(5))[0]!;
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(c).toBeGreaterThan(2000 / 5 * 0.8);
  });

  it('moves only about 1/N of the titles when an edge is added or removed', () => {
    const before = titles.map((t) => rankEdges(t, edges(5))[0]);
    const added = titles.map((t) => rankEdges(t, edges(6))[0]);
    const movedOnAdd = before.filter((e, i) => e !== added[i]).length / titles.length;
    expect(movedOnAdd).toBeGreaterThan(1 / 6 - 0.04);
    expect(movedOnAdd).toBeLessThan(1 / 6 + 0.04);
    // Every title that moved went to the new edge.
    expect(added.filter((e, i) => e !== before[i]).every((e) => e === 'http://edge5.example:8081')).toBe(true);
    const without2 = edges(5).filter((e) => e !== 'http://edge2.example:8081');
    const removed = titles.map((t) => rankEdges(t, without2)[0]);
    const moved = before.filter((e, i) => e !== removed[i]);
    expect(moved.every((e) => e === 'http://edge2.example:8081')).toBe(true); // only the dead edge's titles move
    expect(moved.length / titles.length).toBeLessThan(0.25);
  });

  it('is stable: the same title and edges give the same order', () => {
    expect(rankEdges(titles[7]!, edges(4))).toEqual(rankEdges(titles[7]!, [...edges(4)].reverse()));
  });
});

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, lets one probe through after the open period, closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 2, openMs: 1000, nowMs: () => now });
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.current).toBe('closed');
    b.failure();
    expect(b.current).toBe('open');
    expect(b.allow()).toBe(false);
    now = 1000;
    expect(b.current).toBe('half-open');
    expect(b.allow()).toBe(true); // the probe
    expect(b.allow()).toBe(false); // one at a time
    b.failure();
    expect(b.current).toBe('open');
    now = 2500;
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.current).toBe('closed');
  });
});

/**
 * The player page's network control (player.js): the edge shapes this session's responses to a
 * fixed rate or a throughput trace (`POST /shape`, `DELETE /shape/<session>`), lists its traces
 * (`GET /shape/traces`), and reports the current link rate (`GET /shape/<session>`).
 */

/**
 * Wires the #network select to the edge's shaping routes.
 * @returns loadTraces() fills the select's trace options; setNetwork(value) applies `rate:<r>`,
 *          `trace:<name>` or '' (unshaped); pollLinkRate() refreshes state.linkRateBps.
 */
export function setupShaping({ $, state, session, kbps, showMessage }) {
  async function loadTraces() {
    try {
      const { traces } = await (await fetch('/shape/traces')).json();
      const group = $('trace-options');
      for (const t of traces) group.append(new Option(`${t.name} (mean ${kbps(t.meanBps)})`, `trace:${t.name}`));
    } catch {
      /* shaping traces are optional */
    }
  }

  async function setNetwork(value) {
    if (!value) {
      await fetch(`/shape/${session}`, { method: 'DELETE' });
      state.linkRateBps = null;
      state.shapedAtMs = null;
      return;
    }
    const [kind, arg] = [value.slice(0, value.indexOf(':')), value.slice(value.indexOf(':') + 1)];
    const res = await fetch('/shape', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(kind === 'trace' ? { session, trace: arg } : { session, rate: arg }),
    });
    if (!res.ok) showMessage(`The edge refused the network profile: ${(await res.json()).error}`);
    else state.shapedAtMs = performance.now();
  }
  $('network').addEventListener('change', (e) => setNetwork(e.target.value));

  async function pollLinkRate() {
    try {
      const res = await fetch(`/shape/${session}`, { cache: 'no-store' });
      state.linkRateBps = res.ok ? (await res.json()).rateBps : null;
    } catch {
      /* the edge may be down; the error handler says so */
    }
  }
  return { loadTraces, setNetwork, pollLinkRate };
}

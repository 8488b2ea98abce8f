/**
 * A circuit breaker per upstream (the pattern of Nygard, "Release It!", 2007; states as in
 * resilience4j): closed → open after `failureThreshold` consecutive failures; open rejects
 * at once for `openMs`; then half-open lets one probe through, whose success closes it and
 * whose failure opens it again. Time arrives from an injectable clock, so tests need no sleeps.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 3. */
  readonly failureThreshold?: number;
  /** How long an open breaker rejects before a probe, ms. Default 5000. */
  readonly openMs?: number;
  /** Clock in ms; default Date.now. */
  readonly nowMs?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAtMs = 0;
  private state: BreakerState = 'closed';
  private probeInFlight = false;
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly nowMs: () => number;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 3;
    this.openMs = options.openMs ?? 5_000;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Current state (an open breaker whose time is up reports half-open). */
  get current(): BreakerState {
    if (this.state === 'open' && this.nowMs() - this.openedAtMs >= this.openMs) return 'half-open';
    return this.state;
  }

  /** Whether a request may go to this upstream now; in half-open, only one probe at a time. */
  allow(): boolean {
    const s = this.current;
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    this.state = 'half-open';
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probeInFlight = false;
    this.state = 'closed';
  }

  failure(): void {
    this.probeInFlight = false;
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.failureThreshold) {
      this.state = 'open';
      this.openedAtMs = this.nowMs();
    }
  }
}

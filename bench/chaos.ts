/**
 * `npm run chaos`: the chaos run of test/chaos/chaos-runner.ts for CHAOS_SECONDS (default 120)
 * with CHAOS_PLAYERS players (default 2), a fault every CHAOS_FAULT_EVERY_S (default 6) s on
 * average, seed CHAOS_SEED (default 1). Prints the table of faults and outcomes and writes
 * bench/results/chaos.json and chaos.md; exits 1 when a check failed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { formatChaosReport, runChaos } from '../test/chaos/chaos-runner.js';

const report = await runChaos({
  durationS: Number(process.env.CHAOS_SECONDS ?? 120),
  players: Number(process.env.CHAOS_PLAYERS ?? 2),
  faultEveryS: Number(process.env.CHAOS_FAULT_EVERY_S ?? 6),
  seed: Number(process.env.CHAOS_SEED ?? 1),
  log: (line) => process.stderr.write(`${line}\n`),
});
const out = path.resolve(import.meta.dirname, 'results');
await fs.mkdir(out, { recursive: true });
await fs.writeFile(path.join(out, 'chaos.json'), `${JSON.stringify(report, null, 2)}\n`);
const md = formatChaosReport(report);
await fs.writeFile(path.join(out, 'chaos.md'), md);
process.stdout.write(`${md}\nWrote bench/results/chaos.json and chaos.md\n`);
process.exit(report.failures.length === 0 ? 0 : 1);

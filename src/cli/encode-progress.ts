/**
 * The progress bar `vod upload` and `vod demo` show while a title encodes (cli-progress),
 * on stderr. On a terminal it redraws in place; elsewhere (CI, pipes) it prints a line
 * whenever the stage or rendition changes, so logs stay readable.
 */
import cliProgress from 'cli-progress';
import type { EncodeJobStatus } from '../ingest/encode-queue.js';

export interface EncodeProgressView {
  update(status: EncodeJobStatus): void;
  stop(): void;
}

/** Creates a progress view for one title's encode. */
export function createEncodeProgressView(label: string, stream: NodeJS.WriteStream = process.stderr): EncodeProgressView {
  if (!stream.isTTY) {
    let last = '';
    return {
      update(s) {
        const line = `${label}: ${s.state}${s.progress ? ` ${s.progress.stage}${s.progress.rendition ? ` ${s.progress.rendition}` : ''}` : ''}`;
        if (line !== last) {
          last = line;
          stream.write(`${line} (${Math.round(s.progress?.percent ?? 0)}%)\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {percentage}% | {what} | {duration_formatted} elapsed`,
      stream,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { what: 'queued' });
  return {
    update(s) {
      const p = s.progress;
      let what: string = s.state;
      if (s.state === 'waiting' || s.state === 'delayed') what = s.attemptsMade > 0 ? `retry ${s.attemptsMade + 1}/${s.attempts} pending` : 'waiting for a worker';
      else if (s.state === 'waiting-children' && s.children) what = s.flowStep === 'analyze' ? `analyze: ${s.children.done}/${s.children.total} trial jobs done` : `encode: ${s.children.done}/${s.children.total} child jobs done`;
      else if (s.state === 'active' && p) what = `${p.stage}${p.rendition ? ` ${p.rendition}` : ''}`;
      // While a flow waits, its children's share done moves the bar (analysis 0–40%, chunks 40–90%).
      let percent = p?.percent ?? 0;
      if (s.state === 'waiting-children' && s.children && s.children.total > 0) {
        const f = s.children.done / s.children.total;
        percent = Math.max(percent, s.flowStep === 'analyze' ? 40 * f : 40 + 50 * f);
      }
      bar.update(Math.min(100, Math.round(percent)), { what });
    },
    stop() {
      bar.stop();
    },
  };
}

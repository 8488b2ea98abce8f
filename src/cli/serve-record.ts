/**
 * Where a running `vod serve` / `vod demo` can be reached, written to its data folder so that
 * the other commands on that folder (`vod upload`, `vod status`) print playback URLs on the edge
 * that actually runs — `vod serve --edge-port 9000` used to be followed by URLs on port 8081.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { processRuns } from '../util/process-runs.js';

/** File name of the record inside the data folder. */
export const SERVE_RECORD_FILE = 'serve.json';

const recordSchema = z.object({
  /** Process id of the `vod serve` that wrote it; the record counts only while it runs. */
  pid: z.number().int().positive(),
  /** The edge's base URL as viewers on this machine reach it, e.g. http://localhost:8081. */
  edgeUrl: z.url({ protocol: /^https?$/ }),
  /** The origin's base URL. */
  originUrl: z.url({ protocol: /^https?$/ }),
});
export type ServeRecord = z.infer<typeof recordSchema>;

/**
 * A server's URL as a viewer on this machine types it: the loopback and wildcard addresses
 * become `localhost` (what the printed URLs have always said).
 */
export function viewerUrl(url: string): string {
  return url.replace(/^(https?:\/\/)(127\.0\.0\.1|0\.0\.0\.0|\[::1?\])(?=[:/]|$)/, '$1localhost');
}

/**
 * Writes the record (atomically: a temporary file renamed over it).
 * @throws Error from the file system (the caller decides whether that matters).
 */
export function writeServeRecord(dataDir: string, urls: { edgeUrl: string; originUrl: string }, pid = process.pid): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, SERVE_RECORD_FILE);
  const tmp = `${file}.${pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ pid, edgeUrl: viewerUrl(urls.edgeUrl), originUrl: viewerUrl(urls.originUrl) })}\n`);
  fs.renameSync(tmp, file);
}

/** Removes the record if this process wrote it (a newer serve's record is left alone). */
export function removeServeRecord(dataDir: string, pid = process.pid): void {
  if (readServeRecord(dataDir)?.pid === pid) fs.rmSync(path.join(dataDir, SERVE_RECORD_FILE), { force: true });
}

/**
 * The record of a `vod serve` that is still running on this data folder, else undefined (no
 * file, unreadable or malformed file, or its process has ended — a killed serve leaves it behind).
 */
export function readServeRecord(dataDir: string): ServeRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, SERVE_RECORD_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: ReturnType<typeof recordSchema.safeParse>;
  try {
    parsed = recordSchema.safeParse(JSON.parse(text));
  } catch {
    return undefined;
  }
  if (!parsed.success || !processRuns(parsed.data.pid)) return undefined;
  return parsed.data;
}

/**
 * Edge benchmark: cache-hit throughput of `vod edge` against nginx with proxy_cache, in the
 * same run, on loopback, one worker process each pinned to core 0, with wrk pinned to core 1.
 * Corpus: 20 objects each of 1 MiB and 256 KiB segments and 2 KiB playlists served by
 * `vod origin`. Both caches are warmed, then wrk runs DURATION_S seconds per size with 32
 * connections, cycling through the objects. Also reports the edge's resident memory against
 * its configured cache size. Writes bench/results/edge-vs-nginx.json. Run: npm run bench:edge
 * (installs Debian's nginx and wrk when they are missing).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const WORK = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-edge-bench-'));
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 32;
const TITLE = '0123456789abcdef';
const PORTS = { origin: 9280, edge: 9281, nginx: 9282 };
const SIZES = [
  { name: '1 MiB segments', prefix: 'seg1m', ext: 'm4s', bytes: 1 << 20, target: 1.2 },
  { name: '256 KiB segments', prefix: 'seg256k', ext: 'm4s', bytes: 256 << 10, target: 0.8 },
  { name: '2 KiB playlists', prefix: 'pl2k', ext: 'm3u8', bytes: 2 << 10, target: 0.5 },
];
const EDGE_CACHE_BYTES = 256 * 1024 * 1024;

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
if (!have('nginx') || !have('wrk')) {
  process.stderr.write('installing nginx and wrk from Debian packages…\n');
  execFileSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk)'], { stdio: 'inherit' });
}

const children: ChildProcess[] = [];
const start = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
  const c = spawn(cmd, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  children.push(c);
  return c;
};
const cleanup = () => children.forEach((c) => c.kill('SIGTERM'));
process.on('exit', cleanup);

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

// Corpus in an object store folder.
const dir = path.join(WORK, 'data', 'store', 'vod', TITLE, 'v');
await fs.mkdir(dir, { recursive: true });
for (const s of SIZES) for (let i = 0; i < 20; i++) await fs.writeFile(path.join(dir, `${s.prefix}_${i}.${s.ext}`), Buffer.alloc(s.bytes, 65 + i));

start(process.execPath, [path.join(ROOT, 'bin/vod.mjs'), '--data-dir', path.join(WORK, 'data'), '--log-level', 'warn', 'origin', '--port', String(PORTS.origin)]);
const edge = start('taskset', ['-c', '0', process.execPath, path.join(ROOT, 'bin/vod.mjs'), '--log-level', 'warn', 'edge', '--origin', `http://127.0.0.1:${PORTS.origin}`, '--port', String(PORTS.edge), '--cache-bytes', String(EDGE_CACHE_BYTES)]);
await fs.mkdir(path.join(WORK, 'nginx', 'cache'), { recursive: true });
await fs.writeFile(
  path.join(WORK, 'nginx', 'nginx.conf'),
  `user root;
worker_processes 1;
daemon off;
pid ${WORK}/nginx/nginx.pid;
error_log ${WORK}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  proxy_cache_path ${WORK}/nginx/cache levels=1:2 keys_zone=vod:64m max_size=2g inactive=1d use_temp_path=off;
  server {
    listen 127.0.0.1:${PORTS.nginx};
    location /vod/ {
      proxy_pass http://127.0.0.1:${PORTS.origin};
      proxy_cache vod;
      proxy_cache_valid 200 1d;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`,
);
start('taskset', ['-c', '0', 'nginx', '-c', path.join(WORK, 'nginx', 'nginx.conf')]);
await waitFor(`http://127.0.0.1:${PORTS.origin}/healthz`);
await waitFor(`http://127.0.0.1:${PORTS.edge}/healthz`);
await waitFor(`http://127.0.0.1:${PORTS.nginx}/vod/${TITLE}/v/pl2k_0.m3u8`);

// Warm both caches (twice: the second pass must be all hits).
for (const port of [PORTS.edge, PORTS.nginx]) {
  for (let pass = 0; pass < 2; pass++) {
    for (const s of SIZES) for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${port}/vod/${TITLE}/v/${s.prefix}_${i}.${s.ext}`)).arrayBuffer();
  }
}
const xcache = async (port: number) => (await fetch(`http://127.0.0.1:${port}/vod/${TITLE}/v/seg1m_3.m4s`)).headers.get('x-cache');
if ((await xcache(PORTS.edge)) !== 'HIT' || (await xcache(PORTS.nginx)) !== 'HIT') throw new Error('caches are not warm');

function wrk(port: number, prefix: string, ext: string): { requestsPerS: number; bytesPerS: number; p99Ms: number } {
  const script = path.join(WORK, `${prefix}.lua`);
  const paths = Array.from({ length: 20 }, (_, i) => `"/vod/${TITLE}/v/${prefix}_${i}.${ext}"`).join(',');
  execFileSync('sh', ['-c', `cat > ${script} <<'LUA'
local paths = {${paths}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %f\\n", summary.requests / (summary.duration / 1e6), summary.bytes / (summary.duration / 1e6), latency:percentile(99) / 1000))
end
LUA`]);
  const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '-s', script, `http://127.0.0.1:${port}`], { encoding: 'utf8' });
  const m = /RESULT (\S+) (\S+) (\S+)/.exec(out);
  if (!m) throw new Error(`wrk printed no result:\n${out}`);
  return { requestsPerS: Number(m[1]), bytesPerS: Number(m[2]), p99Ms: Number(m[3]) };
}

const rows = [];
for (const s of SIZES) {
  const ours = wrk(PORTS.edge, s.prefix, s.ext);
  const nginx = wrk(PORTS.nginx, s.prefix, s.ext);
  const ratio = ours.requestsPerS / nginx.requestsPerS;
  rows.push({ size: s.name, objectBytes: s.bytes, vodEdge: ours, nginx, ratio, target: s.target, meetsTarget: ratio >= s.target });
  process.stderr.write(`${s.name}: vod-edge ${ours.requestsPerS.toFixed(0)} req/s, nginx ${nginx.requestsPerS.toFixed(0)} req/s, ratio ${ratio.toFixed(2)} (target ${s.target})\n`);
}
const status = await fs.readFile(`/proc/${edge.pid}/status`, 'utf8').catch(() => '');
const rssBytes = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
const health = (await (await fetch(`http://127.0.0.1:${PORTS.edge}/healthz`)).json()) as { cache: { bytes: number } };
const result = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim() || 'nginx' },
  setup: { durationS: DURATION_S, connections: CONNECTIONS, objectsPerSize: 20, pinning: 'server on core 0, wrk on core 1' },
  rows,
  memory: { edgeRssBytes: rssBytes, cachedBytes: health.cache.bytes, configuredCacheBytes: EDGE_CACHE_BYTES, rssMinusCachedBytes: rssBytes - health.cache.bytes },
};
const out = path.join(ROOT, 'bench', 'results', 'edge-vs-nginx.json');
await fs.mkdir(path.dirname(out), { recursive: true });
await fs.writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
const fmt = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 0 });
process.stdout.write(
  `| object | vod-edge req/s | vod-edge Gbit/s | vod-edge p99 ms | nginx req/s | nginx Gbit/s | nginx p99 ms | ratio | target |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n${rows
    .map((r) => `| ${r.size} | ${fmt(r.vodEdge.requestsPerS)} | ${((r.vodEdge.bytesPerS * 8) / 1e9).toFixed(2)} | ${r.vodEdge.p99Ms.toFixed(2)} | ${fmt(r.nginx.requestsPerS)} | ${((r.nginx.bytesPerS * 8) / 1e9).toFixed(2)} | ${r.nginx.p99Ms.toFixed(2)} | ${r.ratio.toFixed(2)} | ≥ ${r.target} |`)
    .join('\n')}\n\nedge RSS ${(rssBytes / 2 ** 20).toFixed(0)} MiB holding ${(health.cache.bytes / 2 ** 20).toFixed(1)} MiB of cache (configured ${EDGE_CACHE_BYTES / 2 ** 20} MiB)\nWrote ${out}\n`,
);
cleanup();
await fs.rm(WORK, { recursive: true, force: true });
process.exit(0);

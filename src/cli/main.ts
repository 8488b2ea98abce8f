/**
 * The `vod` command line (commander). The only place that reads process.argv and the
 * environment, and the only place that exits. User errors end in one sentence on stderr and
 * a non-zero exit code, never a stack trace.
 */
import { Command, CommanderError, Option } from 'commander';
import bytes from 'bytes';
import { UserError } from '../util/errors.js';
import { parseBytes, parsePositiveInt, collectSubtitles, parseCodecs, parseNonNegativeInt, parsePositiveNumber, parseNonNegativeNumber, parseCrfList, parseFraction, MAX_TOKEN_TTL_S, parseTokenTtl, parseSigningKey, parseAdminToken, parsePort, parseHttpUrl, parseEdgeList } from './flag-parsers.js';
import type { GlobalFlags } from './context.js';
import { PROTECTION_SCHEMES, type ProtectionScheme } from '../keys/content-keys.js';
import type { EdgeFlags } from './commands.js';
import type { RemoveFlags } from './remove-command.js';
import type { LadderFlags } from './ladder-command.js';
import { DEFAULT_CRF_VALUES } from '../encoder/trial-grid.js';
import type { VideoCodec } from '../encoder/fixed-ladder.js';
import { DEFAULT_LADDER_KIND, LADDER_KINDS, type LadderKind } from '../title/title-address.js';
import { WORKLOAD_HELP } from '../simulator/vod-workload.js';
import type { AbrSimFlags } from './abr-sim-command.js';
import { ABR_RULE_NAMES } from '../abr/abr-rules.js';
import { POLICY_NAMES } from '../cache-policies/policy-registry.js';
import { EDGE_POLICY_NAMES, LRU_CACHE_TIER } from '../edge-cache/memory-tier.js';

/** Builds the program; exported so tests can check `--help` without spawning. */
export function buildProgram(env: NodeJS.ProcessEnv): Command {
  const program = new Command('vod')
    .description('Adaptive-bitrate VOD pipeline and caching CDN edge: upload masters, encode HLS ladders, serve them through edges.')
    .option('--data-dir <dir>', 'data folder for the object store and the embedded Redis (env VOD_DATA_DIR; default <project>/data)')
    .addOption(new Option('--log-level <level>', 'log level of the JSON logs on stderr (env LOG_LEVEL)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .showHelpAfterError('(run vod --help for usage)')
    .exitOverride();

  // Commands that draw a progress bar log only warnings unless asked, so JSON lines do not
  // interleave with the bar; servers and workers log at info.
  // Each command's module (and what it needs: the queue, the store, the servers, the encoder) is
  // imported when the command runs, so `--help`, a usage error and every command start without
  // loading the others (about 0.9 s of imports for all of them on a 2-core machine).
  const ctx = async (defaultLogLevel = 'info') => (await import('./context.js')).createContext(env, program.opts<GlobalFlags>(), defaultLogLevel);

  program
    .command('upload')
    .description('Check a master file (or several: a catalog), store it and queue its encode; shows the encode progress until the title is published.')
    .argument('<files...>', 'master (mezzanine) video files: MP4, MOV, MKV, WebM, ...; several are checked, stored and queued one after another (a refused one is reported and the others go on)')
    .option('-t, --title <title>', 'title shown in the catalog (default: the file name)')
    .option('--no-wait', 'return as soon as the encode is queued')
    .addOption(
      new Option('--ladder <kind>', "bitrate ladder: per-title (convex hull of the title's own RD curves) or fixed (Apple's HLS ladder)")
        .choices(LADDER_KINDS)
        .default(DEFAULT_LADDER_KIND),
    )
    .addOption(new Option('--encrypt <scheme>', 'encrypt the published segments: aes-128 (HLS AES-128, RFC 8216 §5.2, whole segments) or cenc (Common Encryption, ISO/IEC 23001-7, for EME with the W3C Clear Key key system); keys are served by `vod keys`').choices(PROTECTION_SCHEMES))
    .option('--key-rotation <n>', 'with --encrypt aes-128: a new content key every n segments (0 = one key for the whole title)', parseNonNegativeInt, 0)
    .option('--codecs <list>', 'video codecs of the ladder: h264 (default) or h264,hevc — an HEVC ladder (libx265, hvc1) from its own per-title trials beside the H.264 one; players pick what they decode', parseCodecs)
    .option('--subtitles <lang=file,...>', "subtitle files to publish beside the master's own text subtitles, e.g. en=movie.en.srt,fr=movie.fr.vtt (SubRip, WebVTT, ASS; may repeat)", collectSubtitles)
    .addHelpText(
      'after',
      '\nThe title id is derived from the file content: uploading the same file twice encodes it once\n(whatever --ladder, --encrypt, --codecs or --subtitles say the second time);\nvod remove <title id> first to encode it again (it is then published under a new id).\nNeeds a running worker (vod worker, or vod serve) to make progress.\nPer-title ladders are built on VMAF when the worker has VMAF_MODEL set, else on PSNR.\nEncrypted titles point players at VOD_KEY_SERVER_URL (default http://localhost:<VOD_KEY_PORT>),\nwhere `vod keys` hands each key only to a request signed with VOD_SIGNING_KEY (see `vod sign`).',
    )
    .action(async (files: string[], opts: { title?: string; wait: boolean; ladder: LadderKind; encrypt?: ProtectionScheme; keyRotation: number; subtitles?: { language: string; file: string }[]; codecs?: VideoCodec[] }) => {
      const c = await ctx('warn');
      if (opts.codecs?.includes('hevc') && opts.ladder !== 'per-title') throw new UserError('--codecs h264,hevc needs --ladder per-title: the HEVC ladder comes from its own trials.');
      if (opts.keyRotation > 0 && opts.encrypt !== 'aes-128') throw new UserError(opts.encrypt ? `--key-rotation is for --encrypt aes-128: a ${opts.encrypt} title has one key.` : '--key-rotation needs --encrypt.');
      const protection = opts.encrypt ? { scheme: opts.encrypt, keyRotationSegments: opts.keyRotation, keyServerUrl: c.config.keyServerUrl } : undefined;
      await (await import('./commands.js')).runUpload(c, files, { title: opts.title, wait: opts.wait, ladder: opts.ladder, protection, subtitles: opts.subtitles, codecs: opts.codecs });
    });

  program
    .command('worker')
    .description('Run encode jobs from the queue until stopped (Ctrl-C finishes cleanly; an interrupted job is retried).')
    .option('-c, --concurrency <n>', 'encode jobs run at once by this worker', parsePositiveInt, 1)
    .option('--name <name>', 'this worker\'s name in `vod status` (default <hostname>:<pid>)')
    .action(async (opts: { concurrency: number; name?: string }) => (await import('./commands.js')).runWorker(await ctx(), opts));

  program
    .command('status')
    .description('Show encode jobs (state, progress, attempts, failure reason) and published titles; with a title id, also its child jobs (the trial groups of its analysis, its chunks) and which workers hold them.')
    .argument('[title]', 'a title id: show that title only')
    .option('--json', 'print JSON instead of a table')
    .option('-w, --watch [seconds]', 'redraw every <seconds> (default 2) until the title\'s job completes or fails, or Ctrl-C; with --json, one JSON object per line', parsePositiveNumber)
    .action(async (titleId: string | undefined, opts: { json?: boolean; watch?: number | true }) => (await import('./status-command.js')).runStatus(await ctx('warn'), titleId, { json: opts.json, watch: opts.watch === true ? 2 : opts.watch }));

  program
    .command('remove')
    .description('Take titles down: unpublish them, delete their renditions, keys and master from the store, drop their encode jobs (a queued one is cancelled) and purge them from the edge; the same master can then be uploaded again.')
    .argument('<titles...>', 'title ids (16 hex digits, as vod status lists them)')
    .option('--keep-master', 'keep the uploaded master and subtitle files in the store')
    .option('--edge <url>', 'purge the titles from this edge too; repeat for several (default: the edge of a vod serve running on this data folder)', (v: string, acc: string[] | undefined) => [...(acc ?? []), parseHttpUrl(v)])
    .option('--admin-token <token>', 'the edges\' admin token (env VOD_ADMIN_TOKEN)', parseAdminToken)
    .addHelpText('after', '\nA title a worker is encoding is refused (nothing removed): wait until vod status says completed or\nfailed. The title leaves the catalog first, then its files.\nA published title\'s id is retired: its master uploaded again is published under a new id (caches\nmay keep the old segments, served immutable, for a year).')
    .action(async (titleIds: string[], opts: RemoveFlags) => (await import('./remove-command.js')).runRemove(await ctx('warn'), titleIds, opts));

  program
    .command('origin')
    .description('Serve the catalog (/titles) and published titles (/vod/<title>/...) from the object store.')
    .option('-p, --port <port>', 'TCP port (env VOD_ORIGIN_PORT; default 8080)', parsePort)
    .option('--host <host>', 'address to bind (env VOD_HOST; default 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }) => (await import('./commands.js')).runOrigin(await ctx(), opts));

  program
    .command('keys')
    .description('Serve the content keys of encrypted titles (vod upload --encrypt) to players holding a playback token signed with the edges\' key.')
    .option('-p, --port <port>', 'TCP port (env VOD_KEY_PORT; default 8082)', parsePort)
    .option('--host <host>', 'address to bind (env VOD_HOST; default 127.0.0.1)')
    .option('--signing-key <key>', 'HMAC key of playback tokens, the edges\' key, at least 16 characters (env VOD_SIGNING_KEY; required)', parseSigningKey)
    .addHelpText(
      'after',
      '\nGET /keys/<title>/<period> answers the 16-byte AES-128 key of that key period to a request that\ncarries a token covering /vod/<title>/ (Authorization: Bearer <token>, or ?token=<token>), 403\notherwise; never cacheable. Players find the URL in the title\'s EXT-X-KEY tags (VOD_KEY_SERVER_URL\nat upload). POST /clearkey/<title> is the W3C Clear Key license of a cenc title: it answers the\nJSON Web Key set of the key ids the request names (EME §9.1.3–9.1.4), under the same token rule.\nKeys are derived from each title\'s key seed in the object store (keys/<title>/), which\nthe origin and the edges never serve.',
    )
    .action(async (opts: { port?: number; host?: string; signingKey?: string }) => (await import('./commands.js')).runKeyServer(await ctx(), opts));

  const edge = program
    .command('edge')
    .description('Run a caching edge that fills from parents and the origin; serves /vod/, /titles, /metrics, /healthz, /admin and the player page.')
    .option('--origin <url>', 'origin to fill from (after the parents)', parseHttpUrl, 'http://127.0.0.1:8080')
    .option('--parent <url>', 'parent edge to fill from before the origin; repeat for several, tried in order', (v: string, acc: string[]) => [...acc, parseHttpUrl(v)], [] as string[])
    .option('--cache-bytes <size>', 'memory cache size, e.g. 512MB, 2GB (binary units: 1MB = 1048576 bytes)', parseBytes, bytes.parse('512MB')!)
    .addOption(new Option('--policy <name>', 'eviction policy of the memory cache: lru-cache (the lru-cache package) or one the simulator runs').choices(EDGE_POLICY_NAMES).default(LRU_CACHE_TIER))
    .option('--disk-cache <dir>', 'disk tier folder (survives restarts)')
    .option('--disk-bytes <size>', 'disk tier size, e.g. 20GB (required with --disk-cache)', parseBytes)
    .option('--fill-timeout <ms>', 'upstream timeout for headers and for each gap in a body, ms', parsePositiveInt, 15_000)
    .option('--signing-key <key>', 'check signed URLs (/s/<token>/vod/...) with this HMAC key, at least 16 characters (env VOD_SIGNING_KEY)', parseSigningKey)
    .option('--require-signature', 'refuse unsigned /vod/ requests with 403')
    .option('--admin-token <token>', 'bearer token for /admin/purge and /admin/prefill, at least 8 characters (env VOD_ADMIN_TOKEN; default: loopback clients only)', parseAdminToken)
    .option('--name <name>', 'name in Via headers (default <hostname>:<port>)')
    .option('--access-log <file>', 'append a JSON-lines access log of /vod/ requests (replayable: vod bench hit-ratio --trace FILE.jsonl)')
    .option('-p, --port <port>', 'TCP port (env VOD_EDGE_PORT; default 8081)', parsePort)
    .option('--host <host>', 'address to bind (env VOD_HOST; default 127.0.0.1)')
    .action(async (opts: EdgeFlags) => (await import('./commands.js')).runEdge(await ctx(), opts));

  edge
    .command('prefill')
    .description("Ask a running edge to fill whole titles now: the most requested in its history, or the newest in the origin's catalog.")
    .requiredOption('--edge <url>', 'base URL of the edge', parseHttpUrl)
    .option('--titles <n>', 'how many titles', parsePositiveInt, 10)
    .addOption(new Option('--source <source>', 'where the titles come from').choices(['history', 'catalog']).default('history'))
    .option('--admin-token <token>', 'the edge\'s admin token (env VOD_ADMIN_TOKEN)', parseAdminToken)
    .action(async (opts: { edge: string; titles: number; source: string; adminToken?: string }) => (await import('./edge-commands.js')).runPrefill(await ctx('warn'), opts));

  edge
    .command('purge')
    .description('Remove a title (all its objects) or one path from a running edge\'s memory and disk tiers.')
    .requiredOption('--edge <url>', 'base URL of the edge', parseHttpUrl)
    .option('--title <id>', 'title id to purge')
    .option('--path <path>', 'one path to purge, e.g. /vod/<id>/master.m3u8')
    .option('--admin-token <token>', 'the edge\'s admin token (env VOD_ADMIN_TOKEN)', parseAdminToken)
    .action(async (opts: { edge: string; title?: string; path?: string; adminToken?: string }) => (await import('./edge-commands.js')).runPurge(await ctx('warn'), opts));

  program
    .command('sign')
    .description('Issue a signed playback URL by hand (what vod steer issues for players).')
    .requiredOption('--path <path>', 'what to play, e.g. /vod/<title id>/master.m3u8')
    .option('--prefix <prefix>', 'path prefix the token grants (default: the folder of --path)')
    .option('--ttl <seconds>', `lifetime of the token, at most ${MAX_TOKEN_TTL_S} (ten years)`, parseTokenTtl, 3600)
    .option('--ip <address>', 'bind the token to this client address')
    .option('--key <key>', 'HMAC key, at least 16 characters (env VOD_SIGNING_KEY)', parseSigningKey)
    .option('--edge <url>', 'edge base URL to put in front', parseHttpUrl)
    .action(async (opts: { path: string; prefix?: string; ttl: number; ip?: string; key?: string; edge?: string }) => (await import('./edge-commands.js')).runSign(await ctx('warn'), opts));

  program
    .command('steer')
    .description('Steering service: health-checks edges, ranks them per title by rendezvous hashing, answers /play/<title> and HLS Content Steering.')
    .requiredOption('--edges <urls>', 'comma-separated edge base URLs', parseEdgeList)
    .option('--replicas <n>', 'edges that serve each title first', parsePositiveInt, 2)
    .option('--signing-key <key>', 'sign playback URLs with this key, at least 16 characters (env VOD_SIGNING_KEY)', parseSigningKey)
    .option('--health-interval <ms>', 'health-check period, ms', parsePositiveInt, 1000)
    .option('-p, --port <port>', 'TCP port', parsePort, 8070)
    .option('--host <host>', 'address to bind (env VOD_HOST; default 127.0.0.1)')
    .action(async (opts: { edges: string[]; replicas: number; signingKey?: string; healthInterval: number; port: number; host?: string }) => (await import('./edge-commands.js')).runSteer(await ctx(), opts));

  const serveOptions = (cmd: Command) =>
    cmd
      .option('--origin-port <port>', 'origin TCP port (default 8080)', parsePort)
      .option('--edge-port <port>', 'edge TCP port (default 8081)', parsePort)
      .option('--cache-bytes <size>', 'edge memory cache size', parseBytes, bytes.parse('512MB')!)
      .addOption(new Option('--policy <name>', 'eviction policy of the edge\'s memory cache (as vod edge --policy)').choices(EDGE_POLICY_NAMES).default(LRU_CACHE_TIER))
      .option('-c, --concurrency <n>', 'encode jobs run at once by the worker', parsePositiveInt, 1);

  serveOptions(program.command('serve'))
    .description('Start everything on this machine: Redis (if REDIS_URL is unset), one worker, the origin, the edge and the player page.')
    .action(async (opts) => (await import('./serve-command.js')).runServe(await ctx(), opts));

  serveOptions(program.command('demo'))
    .description('vod serve, then upload the shared Big Buck Bunny clip and print the URL to watch it.')
    .option('--all', 'also upload the other clips in ../shared/media')
    .option('--media <dir>', 'folder of the shared clips (default <project>/../shared/media)')
    .option('--exit', 'exit once the uploads are published instead of serving until Ctrl-C')
    .action(async (opts) => (await import('./serve-command.js')).runDemo(await ctx('warn'), opts));

  program
    .command('ladder')
    .description("Analyse a master's per-title ladder without publishing: trial encodes, RD points, convex hull, chosen rungs; prints a table and writes an SVG plot.")
    .argument('<file>', 'master (mezzanine) video file')
    .option('--plot <file>', 'SVG plot of the RD curves, hull and ladders (default ./<file name>.ladder.svg)')
    .option('--json <file>', 'also write the whole analysis (every RD point, hull, rungs, settings, timings) as JSON')
    .option('--points', 'also print every RD point')
    .option('--no-fixed', "skip encoding the fixed ladder's rungs on the sample for comparison")
    .option('--crf <list>', `x264 CRF values of the trial grid, comma-separated (default ${DEFAULT_CRF_VALUES.join(',')})`, parseCrfList)
    .option('--sample-fraction <f>', 'share of the title the trial sample covers, in (0, 1] (default 0.2)', parseFraction)
    .addOption(new Option('--trial-preset <preset>', 'x264 preset of the trial encodes (default veryfast)').choices(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']))
    .option('--full-grid', 'trial-encode every resolution at every CRF instead of the coarse-to-fine search, which skips trials far from the convex hull')
    .option('--no-half-rate', 'for a master of 48 fps or more, do not also try the resolutions up to 432 lines at half the frame rate (the hull picks whichever rate wins)')
    .addHelpText(
      'after',
      '\nThe ladder is built on VMAF when VMAF_MODEL names a model file (e.g. ../shared/vmaf/vmaf_v0.6.1.pkl), else on PSNR.\nSee docs/per-title.md for the method and the rung rules.',
    )
    .action(async (file: string, opts: LadderFlags) => (await import('./ladder-command.js')).runLadder(await ctx('warn'), file, opts));

  const bench = program.command('bench').description('Benchmarks: cache hit ratio by policy and size (simulated or live), ABR rules on throughput traces.');
  const traceOptions = (cmd: Command) =>
    cmd
      .option('--trace <file>', 'request trace: CSV (time,obj_id,obj_size), libCacheSim oracleGeneral (.bin) or an edge access log (.jsonl); plain or compressed with zstd, gzip or xz (.zst, .gz, .xz)')
      .option('--workload <name>', "synthetic workload instead of a trace: 'vod'")
      .option('--csv-id-column <n>', 'CSV: 1-based column of the object id (default 2)', parsePositiveInt)
      .option('--csv-size-column <n>', 'CSV: 1-based column of the size in bytes, 0 = no sizes (default 3)', parseNonNegativeInt)
      .option('--csv-time-column <n>', 'CSV: 1-based column of the time, 0 = row number (default 1)', parseNonNegativeInt)
      .option('--csv-no-header', 'CSV: the first row is data')
      .option('--csv-delimiter <c>', 'CSV: field delimiter (default ,)')
      .option('--seed <n>', 'vod workload: PRNG seed', parseNonNegativeInt)
      .option('--titles <n>', 'vod workload: catalog size', parsePositiveInt)
      .option('--days <n>', 'vod workload: simulated days', parsePositiveNumber)
      .option('--sessions-per-day <n>', 'vod workload: sessions per day', parsePositiveInt)
      .option('--zipf-alpha <a>', 'vod workload: Zipf exponent of title popularity', parseNonNegativeNumber)
      .option('--new-releases-per-day <f>', 'vod workload: new titles per day as a fraction of the catalog', parseNonNegativeNumber)
      .option('--median-title-minutes <m>', 'vod workload: median title duration, minutes', parsePositiveNumber)
      .option('--segment-duration <s>', 'vod workload: segment duration, seconds', parsePositiveNumber)
      .option('--completion-rate <f>', 'vod workload: fraction of sessions watched to the end', parseNonNegativeNumber)
      .option('--mean-abandon-minutes <m>', 'vod workload: mean watch time of sessions that abandon, minutes', parsePositiveNumber)
      .option('--switch-probability <p>', 'vod workload: chance per segment of a one-rung switch', parseNonNegativeNumber)
      .option('--diurnal-amplitude <a>', 'vod workload: peak-to-mean amplitude of the daily load curve (0 = flat)', parseNonNegativeNumber);

  traceOptions(bench.command('hit-ratio'))
    .description('Simulate cache policies over a trace at several cache sizes; prints a table and writes CSV, JSON and an SVG plot.')
    .option('--policies <list>', `comma-separated policies, or 'all' (${POLICY_NAMES.join(', ')})`, 'all')
    .option('--sizes <list>', 'cache sizes: percentages of the unique bytes (5%), fractions (0.05) or bytes (64MB)', '0.1%,1%,5%,10%,25%')
    .option('--out <dir>', 'folder for the result files', 'bench/results')
    .option('--name <name>', 'base name of the result files (default: from the trace)')
    .option('--mrc', "instead: LRU's hit ratio at every cache size from one pass (Mattson's stack algorithm); writes mrc-<name>.csv and .svg")
    .addHelpText('after', `\n${WORKLOAD_HELP}`)
    .action(async (opts) => (await import('./bench-commands.js')).runHitRatioBench(opts));

  traceOptions(bench.command('workload'))
    .description('Write the synthetic VOD workload as a CSV trace (time,obj_id,obj_size).')
    .requiredOption('--out <file>', 'CSV file to write')
    .addHelpText('after', `\n${WORKLOAD_HELP}`)
    .action(async (opts) => (await import('./bench-commands.js')).runWorkloadExport(opts));

  bench
    .command('origin')
    .description('Run the synthetic origin for replays: GET /vod/bench/<name>?size=N answers N bytes.')
    .option('-p, --port <port>', 'TCP port', parsePort, 8090)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => (await import('./bench-commands.js')).runSyntheticOrigin(opts));

  bench
    .command('abr-sim')
    .description("Simulate the ABR rules (throughput, BOLA, DYNAMIC, a model of hls.js's default) on a published title's real segment sizes over every throughput trace; levels are compared, and bitrates counted, by their AVERAGE-BANDWIDTH. Prints medians per rule and writes CSV, JSON and an SVG plot.")
    .option('--title <id>', 'title to simulate (default: the most recently published)')
    .option('--traces <dir>', 'folder of throughput traces, seconds<TAB>Mbit/s (default VOD_NET_TRACES_DIR, ../shared/traces/net)')
    .option('--rules <list>', `comma-separated rules, or 'all' (${ABR_RULE_NAMES.join(', ')})`, 'all')
    .option('--session <s>', 'seconds of content per session (the title is looped)', parsePositiveNumber, 600)
    .option('--buffer <s>', "the player's buffer target (hls.js maxBufferLength), seconds", parsePositiveNumber, 30)
    .option('--latency <ms>', 'per-request latency, ms', parseNonNegativeNumber, 80)
    .option('--max-max-buffer <s>', "model hls.js's own buffer limit with this maxMaxBufferLength, seconds: it buffers ahead up to min(max(480 Mbit / the level's BANDWIDTH, --buffer), this), not just --buffer (the player page sets twice --buffer; hls.js's default is 600)", parsePositiveNumber)
    .option('--start <s>', 'trace time of the first segment request, seconds (a page first loads its playlists and init segments while the trace runs; bench:abr measures it per cell)', parseNonNegativeNumber, 0)
    .option('--out <dir>', 'folder for the result files', 'bench/results')
    .action(async (opts: AbrSimFlags) => (await import('./abr-sim-command.js')).runAbrSim(await ctx('warn'), opts));

  traceOptions(bench.command('replay'))
    .description('Drive a running vod edge (in front of vod bench origin) with a trace and compare its hit ratio, read from its /metrics, with the simulator.')
    .requiredOption('--edge <url>', 'base URL of the edge', parseHttpUrl)
    .option('--rate <n>', 'requests per second at most', parsePositiveNumber, 500)
    .option('--max-seconds <s>', 'stop after this many seconds', parsePositiveNumber, 120)
    .option('--requests <n>', 'replay only the first N requests', parsePositiveInt)
    .option('--concurrency <n>', 'requests in flight (1 keeps the trace order exactly)', parsePositiveInt, 1)
    .action(async (opts) => (await import('./bench-commands.js')).runReplay(opts));

  return program;
}

/** Runs the CLI and exits the process with the command's status. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram(process.env);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = await reportError(err);
  }
}

async function reportError(err: unknown): Promise<number> {
  if (err instanceof CommanderError) {
    // commander already printed its message (and help for --help, exit code 0). A bad flag is a
    // usage error: exit 2 like the refusals of bad input (commander's own default is 1, which
    // also means "an encode failed").
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UserError) {
    process.stderr.write(`vod: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') {
    // Not a bug: the machine ran out of room (the store, its staging folder or /tmp). What was written aside is removed; nothing published is touched.
    process.stderr.write(`vod: a disk is full (${e.message}); free some space and retry.\n`);
    return 1;
  }
  const refusal = (await import('../ingest/redis-server.js')).redisWriteRefusal(err);
  if (refusal) {
    process.stderr.write(`vod: ${refusal}, then run the command again (a master already stored is kept and reused).\n`);
    return 1;
  }
  process.stderr.write(`vod: unexpected error: ${e?.message ?? String(err)}\n${process.env.LOG_LEVEL === 'debug' ? `${e?.stack}\n` : '(set LOG_LEVEL=debug for the stack trace)\n'}`);
  return 1;
}

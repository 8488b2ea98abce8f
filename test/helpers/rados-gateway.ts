/**
 * A real S3 server for tests: Ceph's RADOS Gateway from Debian's packages (radosgw, ceph-mon,
 * ceph-osd), as a throwaway one-monitor, one-OSD (memstore) cluster in a temporary folder on
 * loopback, no cephx (S3 SigV4 is still enforced by radosgw). Started and stopped by the tests
 * themselves, the way the embedded Redis is. After ../shared/recipes/radosgw-micro.sh, whose
 * README lists the traps handled here: msgr2 'crc' mode (else radosgw waits 300 s on auth),
 * tcp_nodelay (else small GETs take ~50 ms), a warm-up object (the first costs ~2 s).
 * Debian 12 ships Ceph 16 (Pacific), which has no standalone radosgw backend.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './temp-dir.js';
import { freePort } from './free-port.js';
import type { NetnsLab } from './netns-lab.js';

const runHere = promisify(execFile);

export interface RadosGateway {
  /** http://<address>:<port> (127.0.0.1, or the lab host's address) */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Any region works; the SDK needs one. */
  readonly region: string;
  stop(): Promise<void>;
}

/** Whether the Ceph binaries the gateway needs are installed. */
export async function radosGatewayInstalled(): Promise<boolean> {
  for (const bin of ['radosgw', 'ceph-mon', 'ceph-osd', 'radosgw-admin']) {
    try {
      await runHere('sh', ['-c', `command -v ${bin}`]);
    } catch {
      return false;
    }
  }
  return true;
}


/**
 * Starts a throwaway gateway (about 5–10 s on this machine), on loopback or, with `on`, inside a
 * host of a network-namespace lab (the monitor and OSD on that host's loopback, the S3 endpoint
 * on its lab address).
 * @throws Error naming the log folder when a daemon does not come up within 60 s.
 */
export async function startRadosGateway(on?: { lab: NetnsLab; host: string }): Promise<RadosGateway> {
  const dir = await makeTempDir();
  // A lab host is a fresh network namespace: every port is free there.
  const [monPort, rgwPort] = on ? [3300, 7480] : [await freePort(), await freePort()];
  const s3Address = on ? on.lab.address[on.host]! : '127.0.0.1';
  const run = (cmd: string, args: string[], options: { timeout?: number } = {}) =>
    on ? on.lab.run(on.host, cmd, args, { ...(options.timeout ? { timeoutMs: options.timeout } : {}) }) : runHere(cmd, args, options);
  const accessKeyId = 'VODTESTACCESSKEY0000';
  const secretAccessKey = 'vodtestsecretkey00000000000000000000000';
  const conf = path.join(dir, 'ceph.conf');
  for (const sub of ['run', 'log', 'mon.a', 'osd.0', 'rgw']) await fs.mkdir(path.join(dir, sub), { recursive: true });
  const fsid = randomUUID();
  await fs.writeFile(
    conf,
    `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monPort}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
keyring = ${dir}/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
osd crush chooseleaf type = 0
paxos propose interval = 0.1
mon data = ${dir}/mon.$id
osd data = ${dir}/osd.$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd memory target = 536870912
osd class dir = /usr/lib/x86_64-linux-gnu/rados-classes
erasure code dir = /usr/lib/x86_64-linux-gnu/ceph/erasure-code
[client.rgw]
rgw frontends = beast endpoint=${s3Address}:${rgwPort} tcp_nodelay=1
rgw data = ${dir}/rgw
rgw dns name = localhost
rgw enable usage log = false
`,
  );
  const daemons: ChildProcess[] = [];
  const daemon = async (cmd: string, args: string[], logName: string) => {
    const out = await fs.open(path.join(dir, 'log', `${logName}.stdout`), 'a');
    const options = { stdio: ['ignore', out.fd, out.fd] as ('ignore' | number)[] };
    const child = on ? on.lab.spawn(on.host, cmd, args, options) : spawn(cmd, args, options);
    child.once('exit', () => void out.close().catch(() => {}));
    daemons.push(child);
    return child;
  };
  const stop = async () => {
    for (const child of daemons.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    await run('ceph-authtool', ['--create-keyring', path.join(dir, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, path.join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap'), '--keyring', path.join(dir, 'keyring')]);
    await daemon('ceph-mon', ['-c', conf, '-i', 'a', '-f'], 'mon');
    const osdUuid = randomUUID();
    const { stdout } = await run('ceph', ['-c', conf, '--connect-timeout', '60', 'osd', 'new', osdUuid], { timeout: 90_000 });
    const osdId = stdout.trim();
    await run('ceph-osd', ['-c', conf, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    await daemon('ceph-osd', ['-c', conf, '-i', osdId, '-f'], 'osd');
    const rgw = await daemon('radosgw', ['-c', conf, '-n', 'client.rgw', '-f'], 'rgw');
    const endpoint = `http://${s3Address}:${rgwPort}`;
    const deadline = Date.now() + 60_000;
    // From inside the lab host when there is one (the runner cannot reach the lab).
    const answers = () =>
      on
        ? on.lab.run(on.host, 'curl', ['-s', '-o', '/dev/null', '--max-time', '1', endpoint]).then(() => true, () => false)
        : fetch(endpoint, { signal: AbortSignal.timeout(1000) }).then((r) => r.body?.cancel().then(() => true) ?? true, () => false);
    for (;;) {
      if (rgw.exitCode !== null) throw new Error(`radosgw exited; see ${dir}/log`);
      const answered = await answers();
      if (answered) break;
      if (Date.now() > deadline) throw new Error(`radosgw did not answer within 60 s; see ${dir}/log`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await run('radosgw-admin', ['-c', conf, 'user', 'create', '--uid=test', '--display-name=test', `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`], { timeout: 60_000 });
    return { endpoint, accessKeyId, secretAccessKey, region: 'us-east-1', stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

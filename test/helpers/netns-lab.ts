/**
 * Several "machines" on one: a Linux network namespace per host, each with its own address on
 * a private bridge, after ../shared/recipes/netns-lab.sh. Nothing is created in the test
 * runner's own network namespace: the bridge lives in a "switch" namespace where every veth
 * pair is made, its peer moved straight into its host. Hosts have no default route, so nothing
 * leaves the lab, and the runner cannot reach them either: every process that talks to the lab
 * runs inside a host (`spawn`, `run`, or `wrapper` for programs started by a library, such as
 * Chromium under playwright). Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './temp-dir.js';

const exec = promisify(execFile);

export interface NetnsLab {
  /** Each host's address on the lab's bridge (10.201.0.0/24). */
  readonly address: Readonly<Record<string, string>>;
  /** Starts `cmd args` inside `host`; the lab kills it at teardown if it still runs. */
  spawn(host: string, cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs `cmd args` inside `host` to completion. @throws Error (with stderr) on a non-zero exit. */
  run(host: string, cmd: string, args: readonly string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** A script that runs `program` inside `host` with its arguments (for programs a library starts). */
  wrapper(host: string, program: string): Promise<string>;
  /** Kills what the lab started and deletes its namespaces. */
  teardown(): Promise<void>;
}

/** Whether this machine lets us make network namespaces (root with iproute2). */
export async function netnsAvailable(): Promise<boolean> {
  const probe = `vodprobe${randomBytes(3).toString('hex')}`;
  try {
    await exec('ip', ['netns', 'add', probe]);
    await exec('ip', ['netns', 'del', probe]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes one namespace per host name, all on one bridge: host i gets 10.201.0.(10 + i).
 * @throws Error when a namespace or link cannot be made (everything made so far is removed).
 */
export async function createNetnsLab(hosts: readonly string[]): Promise<NetnsLab> {
  const prefix = `vod${randomBytes(3).toString('hex')}`;
  const sw = `${prefix}-sw`;
  const ns = (host: string) => `${prefix}-${host}`;
  const address: Record<string, string> = {};
  const children: ChildProcess[] = [];
  const made: string[] = [];
  const scripts = await makeTempDir();

  const teardown = async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    }
    for (const name of made.reverse()) await exec('ip', ['netns', 'del', name]).catch(() => {});
  };

  try {
    await exec('ip', ['netns', 'add', sw]);
    made.push(sw);
    await exec('ip', ['-n', sw, 'link', 'set', 'lo', 'up']);
    await exec('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await exec('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const [i, host] of hosts.entries()) {
      if (!/^[a-z0-9]{1,8}$/.test(host)) throw new RangeError(`host name ${host}: 1–8 lower-case letters or digits`);
      await exec('ip', ['netns', 'add', ns(host)]);
      made.push(ns(host));
      // Made inside the switch namespace, the peer moved straight into the host's.
      await exec('ip', ['-n', sw, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(host)]);
      await exec('ip', ['-n', sw, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
      await exec('ip', ['-n', ns(host), 'link', 'set', 'lo', 'up']);
      address[host] = `10.201.0.${10 + i}`;
      await exec('ip', ['-n', ns(host), 'addr', 'add', `${address[host]}/24`, 'dev', 'eth0']);
      await exec('ip', ['-n', ns(host), 'link', 'set', 'eth0', 'up']);
    }
  } catch (err) {
    await teardown();
    throw err;
  }

  const known = (host: string) => {
    if (!(host in address)) throw new RangeError(`the lab has no host ${host}`);
    return ns(host);
  };
  return {
    address,
    spawn(host, cmd, args, options = {}) {
      const child = spawn('ip', ['netns', 'exec', known(host), cmd, ...args], options);
      children.push(child);
      return child;
    },
    async run(host, cmd, args, options = {}) {
      try {
        const { stdout, stderr } = await exec('ip', ['netns', 'exec', known(host), cmd, ...args], { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 });
        return { stdout, stderr };
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`${host}: ${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
      }
    },
    async wrapper(host, program) {
      const file = path.join(scripts, `${host}-${path.basename(program)}`);
      await fs.writeFile(file, `#!/bin/sh\nexec ip netns exec ${known(host)} ${program} "$@"\n`, { mode: 0o755 });
      return file;
    },
    teardown,
  };
}

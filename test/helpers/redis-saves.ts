/**
 * Puts a real redis-server into the state a full disk puts it in, and out again, without root:
 * its snapshot cannot be renamed into place (a folder has its name), and with a save point
 * configured Redis then refuses writes — and PING — with MISCONF.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';

/** A Redis server's data folder (its `dir`) and a client of it. */
export interface RedisUnderTest {
  readonly dir: string;
  readonly client: Redis;
}

const bgsaveStatus = async (client: Redis) => (await client.info('persistence')).match(/rdb_last_bgsave_status:(\w+)/)?.[1];

/** Makes Redis refuse writes with MISCONF, as a full disk would; resolves once its save has failed. */
export async function failSaves(redis: RedisUnderTest): Promise<void> {
  await redis.client.config('SET', 'save', '3600 1');
  await fs.mkdir(path.join(redis.dir, 'dump.rdb'));
  await redis.client.bgsave();
  await expect.poll(() => bgsaveStatus(redis.client), { timeout: 10_000 }).toBe('err');
}

/** Lets Redis save again (and so accept writes); resolves once a save has succeeded. */
export async function fixSaves(redis: RedisUnderTest): Promise<void> {
  await fs.rm(path.join(redis.dir, 'dump.rdb'), { recursive: true });
  await redis.client.bgsave();
  await expect.poll(() => bgsaveStatus(redis.client), { timeout: 10_000 }).toBe('ok');
}

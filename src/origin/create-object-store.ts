/**
 * The object store the configuration names: the folder `<dataDir>/store` by default, or an
 * S3-compatible bucket with `VOD_STORE_URL=s3://bucket/prefix`.
 */
import { storeDir, type VodConfig } from '../config.js';
import { FsObjectStore } from './fs-object-store.js';
import type { ObjectStore } from './object-store.js';
import { PUBLISHED_MARKER, titlePrefixOf } from '../title/title-address.js';

/**
 * The S3 store's module, and with it the AWS SDK (about 0.2 s to import), is loaded only when
 * `storeUrl` names a bucket.
 * @throws RangeError for a malformed store URL (config validation catches it first).
 */
export async function createObjectStore(config: Pick<VodConfig, 'dataDir' | 'storeUrl' | 's3'>): Promise<ObjectStore> {
  if (!config.storeUrl) return new FsObjectStore(storeDir(config));
  const { parseS3Url, S3ObjectStore, s3ClientConfig } = await import('./s3-object-store.js');
  const { bucket, prefix } = parseS3Url(config.storeUrl);
  return new S3ObjectStore({
    bucket,
    prefix,
    client: s3ClientConfig({ endpoint: config.s3.endpoint, region: config.s3.region }),
    cacheBytes: config.s3.cacheBytes,
    // Each title folder is published as a version behind a pointer (no zombie attempt can overwrite a published title).
    versionedPrefix: titlePrefixOf,
    inPlaceMarker: PUBLISHED_MARKER,
  });
}

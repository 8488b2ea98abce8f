/**
 * The grammar of object-store keys, shared by every store and by the HTTP servers that map
 * URL paths to keys: relative, '/'-separated names of `[A-Za-z0-9._-]`, none empty, none
 * starting with '.', so `..` and hidden names (a store's staging area) can never be reached.
 */

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Validates a store key: '/'-separated names of [A-Za-z0-9._-], none empty, none starting
 * with '.', so '..' and hidden names (the staging area) can never be reached.
 * @returns the names of the key.
 * @throws RangeError for any other key.
 */
export function splitKey(key: string): string[] {
  const parts = key.split('/');
  if (key.length === 0 || key.length > 1024 || !parts.every((p) => NAME.test(p))) {
    throw new RangeError(`invalid object key: ${JSON.stringify(key.slice(0, 200))}`);
  }
  return parts;
}

/** True when `key` is a valid store key (see `splitKey`). */
export function isValidKey(key: string): boolean {
  try {
    splitKey(key);
    return true;
  } catch {
    return false;
  }
}

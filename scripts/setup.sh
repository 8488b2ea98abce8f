#!/usr/bin/env bash
# Installs what vod-edge needs on a fresh Debian 12 machine with Node 20, as root:
# Debian's redis-server (the job queue), chromium (end-to-end tests), radosgw, ceph-mon,
# ceph-osd (the S3 server of the tests), iproute2 and curl (the multi-node test), zstd and xz-utils
# (compressed cache traces), then the npm
# packages from package-lock.json (ffmpeg and ffprobe come from npm).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Ceph's RADOS Gateway: the real S3 server the tests start on loopback (the S3 object store is
# tested against it; vod itself needs none of it unless VOD_STORE_URL points at a bucket).
command -v radosgw >/dev/null 2>&1 || missing+=(radosgw)
command -v ceph-mon >/dev/null 2>&1 || missing+=(ceph-mon)
command -v ceph-osd >/dev/null 2>&1 || missing+=(ceph-osd)
# The multi-node test's "machines" are network namespaces (ip, from iproute2) probed with curl.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Compressed request traces (libCacheSim's public ones are Zstandard) are read through these.
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${missing[*]} with apt-get (or install them yourself)." >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: installing npm packages (npm ci)"
npm ci --no-audit --no-fund --loglevel=error

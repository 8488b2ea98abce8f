#!/usr/bin/env bash
# One command from a fresh machine: install everything, then run `vod demo`, which starts
# Redis, a worker, the origin and the edge, uploads the shared Big Buck Bunny clip, shows the
# encode's progress and prints the URL to watch it. Extra arguments go to `vod demo`
# (e.g. --all to upload the other shared clips too, --exit to stop once published).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/vod.mjs demo "$@"

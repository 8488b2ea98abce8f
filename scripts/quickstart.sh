#!/usr/bin/env bash
# One command from a fresh machine: install everything, then run `vod demo`, which starts
# Redis, a worker, the origin and the edge, uploads the shared Big Buck Bunny clip (per-title
# ladder, built on VMAF with ../shared/vmaf's model), shows the encode's progress and prints the URL to watch it. Extra arguments go to `vod demo`
# (e.g. --all to upload the other shared clips too, --exit to stop once published).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Per-title ladders are built on VMAF when a model is configured: use the shared one.
if [[ -z "${VMAF_MODEL:-}" && -f ../shared/vmaf/vmaf_v0.6.1.pkl ]]; then
  VMAF_MODEL="$(cd ../shared/vmaf && pwd)/vmaf_v0.6.1.pkl"
  export VMAF_MODEL
fi
exec node bin/vod.mjs demo "$@"

#!/usr/bin/env bash
# One command from a fresh machine: install everything, then run `vod demo`, which starts
# Redis, a worker, the origin and the edge, uploads the shared Big Buck Bunny clip (per-title
# ladder, built on VMAF with ../shared/vmaf's model), shows the encode's progress and prints the URL to watch it. Extra arguments go to `vod demo`
# (e.g. --all to upload the other shared clips too, --exit to stop once published).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  cat <<'USAGE'
Usage: bash scripts/quickstart.sh [vod demo options]

Installs what is missing (Debian packages, npm ci), then runs `vod demo`: Redis, a worker, the
origin (:8080) and the edge (:8081), uploads ../shared/media's Big Buck Bunny clip with a
per-title ladder and prints the player URL. Options go to `vod demo`, e.g.:
  --all    also upload the other shared clips
  --exit   stop once the uploads are published
`node bin/vod.mjs demo --help` lists them all (after the first run has installed the packages).
USAGE
  exit 0
fi
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Per-title ladders are built on VMAF when a model is configured: use the shared one.
if [[ -z "${VMAF_MODEL:-}" && -f ../shared/vmaf/vmaf_v0.6.1.pkl ]]; then
  VMAF_MODEL="$(cd ../shared/vmaf && pwd)/vmaf_v0.6.1.pkl"
  export VMAF_MODEL
fi
if [[ -z "${VMAF_MODEL:-}" ]]; then
  echo "quickstart: no VMAF model (../shared/vmaf/vmaf_v0.6.1.pkl is missing and VMAF_MODEL is unset): the per-title ladder is built on PSNR" >&2
fi
exec node bin/vod.mjs demo "$@"

#!/usr/bin/env bash
# Hit-ratio tables and plots for the shared real traces and the synthetic VOD workload, every
# policy at 0.1%, 1%, 5%, 10% and 25% of each trace's unique bytes. Results: bench/results/.
# Run: npm run bench:hit-ratio
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/traces/cache
for t in adaptsize_request tencent_photo_sample cache2k_web07; do
  node bin/vod.mjs bench hit-ratio --trace "$shared/$t.oracleGeneral.bin" --name "$t" --out bench/results
done
node bin/vod.mjs bench hit-ratio --workload vod --seed 1 --name vod-workload --out bench/results

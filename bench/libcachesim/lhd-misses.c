/*
 * libCacheSim's LHD over an oracleGeneral trace (plain or .zst), printing the cumulative miss
 * count every STEP requests, with the random seed cachesim gives its multi-size runs (0; a
 * single-size `cachesim` run seeds LHD from the clock, so its LHD results do not repeat). Compare
 * with our LHD's counts (src/cache-policies/lhd.ts) request for request.
 *
 * Build against a libCacheSim build (commit aa0fc40, as bench/libcachesim-crosscheck.ts says), e.g.
 * LCS=/work/lcs; B=$LCS/_build/libCacheSim
 * gcc -O2 -I$LCS/libCacheSim/include $(pkg-config --cflags glib-2.0) -c lhd-misses.c
 * g++ -O2 lhd-misses.o -o lhd-misses -Wl,--start-group $B/cache/libcachelib.a \
 *   $B/cache/eviction/libevictionC.a $B/cache/eviction/libevictionCPP.a $B/traceReader/libtraceReader.a \
 *   $B/profiler/libprofiler.a $B/dataStructure/libdataStructure.a $B/dataStructure/hash/libds_hash.a \
 *   $B/utils/libutils.a $B/cache/admission/libadmissionC.a $B/cache/admission/libadmissionCpp.a \
 *   $B/cache/prefetch/libprefetchC.a -Wl,--end-group -lzstd $(pkg-config --libs glib-2.0) -lm -lpthread
 *
 * Usage: lhd-misses TRACE CACHE_BYTES STEP [MAX_REQUESTS]   (prints "requests misses" lines)
 */
#include <stdio.h>
#include <stdlib.h>

#include "libCacheSim.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s TRACE CACHE_BYTES STEP [MAX_REQUESTS]\n", argv[0]);
    return 2;
  }
  uint64_t cache_bytes = strtoull(argv[2], NULL, 10);
  uint64_t step = strtoull(argv[3], NULL, 10);
  uint64_t limit = argc > 4 ? strtoull(argv[4], NULL, 10) : UINT64_MAX;
  reader_t *reader = open_trace(argv[1], ORACLE_GENERAL_TRACE, NULL);
  common_cache_params_t params = default_common_cache_params();
  params.cache_size = cache_bytes;
  cache_t *cache = LHD_init(params, NULL);
  request_t *req = new_request();
  uint64_t n = 0, misses = 0;
  while (n < limit && read_one_req(reader, req) == 0) {
    if (req->obj_size == 0) continue; /* as cachesim's ignore_size_zero_req and our readers */
    n++;
    if (!cache->get(cache, req)) misses++;
    if (n % step == 0) printf("%lu %lu\n", n, misses);
  }
  printf("%lu %lu\n", n, misses);
  return 0;
}

#!/usr/bin/env bash
# ThreadSanitizer: the concurrency tests on octet's own kernels, in a separate build (build-tsan/). A CI step of its
# own (after scripts/test.sh) so the main suite stays fast.
#
# Only the tests whose models have no Conv run here. octet's FP32 Conv is oneDNN's, and Debian's oneDNN runs its
# threads on libgomp, whose synchronisation TSan cannot see (libgomp is not built with TSan), so every oneDNN call
# from two threads would be reported as a race. The Conv-free model exercises everything that is octet's: the
# session and plan cache, one arena per concurrent run, the shared worker pool, octet's GEMM, pooling, eltwise
# and softmax kernels, image decoding and the C API. The demo model's concurrency test (oneDNN included) runs in
# the main suite without TSan.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCTET_SANITIZE=thread >/dev/null
ninja -C build-tsan -j"$(nproc)" octet-tests
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
exec build-tsan/bin/octet-tests --test-suite=concurrency \
  --test-case="*hand-written kernels only*,*several sessions*" "$@"

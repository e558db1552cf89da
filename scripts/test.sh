#!/usr/bin/env bash
# Fresh machine -> packages, build, the whole test suite (ctest). Exit status is ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd build && ctest --output-on-failure -j"$(nproc)" "$@"

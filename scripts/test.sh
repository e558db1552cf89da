#!/usr/bin/env bash
# Fresh machine -> packages, build, the model zoo, the whole test suite (ctest). Exit status is ctest's.
#   scripts/test.sh [CTEST_ARGS...]
# The zoo (scripts/make_zoo.py: one model per vision family with ONNX Runtime's outputs as references) needs
# torch/torchvision and the peer, so this installs what `scripts/setup.sh --models` and bench/install_peer.sh do;
# OCTET_NO_ZOO=1 skips making it (cli.zoo then reports that it did not run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${OCTET_NO_ZOO:-}" == 1 ]]; then scripts/setup.sh; else scripts/setup.sh --models; fi
scripts/build.sh
if [[ "${OCTET_NO_ZOO:-}" != 1 ]]; then
  bench/install_peer.sh
  /usr/bin/python3 scripts/make_zoo.py build/zoo --jobs "$(nproc)" 2> build/make_zoo.log | grep -v ': up to date$' ||
    { tail -30 build/make_zoo.log; exit 1; }
fi
cd build && ctest --output-on-failure -j"$(nproc)" "$@"

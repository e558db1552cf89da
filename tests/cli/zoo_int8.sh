#!/usr/bin/env bash
# INT8 across the model zoo (scripts/zoo_int8.py): `octet quantize` writes a valid QDQ model for every family
# (onnx.checker, unique node names), ONNX Runtime loads and runs it, and octet's output has cosine >= 0.999 to
# ORT's on the same file and input. Needs the zoo (scripts/test.sh makes it); without it: reported as not run.
set -u
OCTET=$1
ZOO=${OCTET_ZOO:-build/zoo}
if ! ls "$ZOO"/*/model.onnx >/dev/null 2>&1; then
  echo "zoo_int8: SKIPPED - no models in $ZOO (make them with: /usr/bin/python3 scripts/make_zoo.py $ZOO)"
  exit 77
fi
exec /usr/bin/python3 scripts/zoo_int8.py "$OCTET" "$ZOO"

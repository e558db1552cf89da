#!/usr/bin/env bash
# The model zoo (scripts/make_zoo.py: one model per vision family, ONNX Runtime's outputs as references) through
# `octet conformance`: every case must pass FP32 within rtol 1e-3 / atol 1e-4 - an unsupported op (a SKIP) fails
# this test too. scripts/test.sh makes the zoo in build/zoo before ctest; without it this test reports that it
# did not run (ctest: "Skipped", exit 77), which is not a pass.
set -u
OCTET=$1
ZOO=${OCTET_ZOO:-build/zoo}
if ! ls "$ZOO"/*/model.onnx >/dev/null 2>&1; then
  echo "zoo: SKIPPED - no models in $ZOO (make them with: /usr/bin/python3 scripts/make_zoo.py $ZOO)"
  exit 77
fi
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
"$OCTET" conformance "$ZOO"/*/ --rtol 1e-3 --atol 1e-4 --json "$out/z.json" > "$out/log" 2>&1
rc=$?
cat "$out/log"
/usr/bin/python3 - "$out/z.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
total = d["passed"] + d["failed"] + d["skipped"]
print(f"zoo: {d['passed']}/{total} families passed, {d['failed']} failed, {d['skipped']} not run")
sys.exit(0 if d["failed"] == 0 and d["skipped"] == 0 and total > 0 else 1)
PY
py=$?
[ $rc -eq 0 ] && [ $py -eq 0 ]

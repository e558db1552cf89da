#!/usr/bin/env bash
# Bad input gets a clear message (naming the file and, where there is one, the node) and exit status 1;
# bad usage exit status 2; never a crash.
set -u
OCTET=$1
N=/usr/share/libonnx-testdata/data/node
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
# expect RC PATTERN -- command...: the exit status must be RC and stderr must match PATTERN (grep -E).
expect() {
  local rc=$1 pat=$2; shift 3
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  if [ $got -eq "$rc" ] && grep -qE "$pat" "$T/err"; then
    echo "ok    exit $got: $(head -c 200 "$T/err" | head -n 1)"
  else
    echo "FAIL  $*: exit $got (expected $rc), stderr: $(head -c 300 "$T/err")"; fails=$((fails+1))
  fi
}
head -c 100 $N/test_conv_with_strides_padding/model.onnx > "$T/trunc.onnx"
printf 'garbage, not protobuf \x01\x02\xff' > "$T/garbage.onnx"
: > "$T/empty.onnx"
printf 'not an image' > "$T/bad.jpg"
head -c 200 models/images/$(ls models/images | head -n 1) > "$T/trunc.png" 2>/dev/null || true

expect 1 'trunc.onnx'                       -- "$OCTET" run "$T/trunc.onnx" $N/test_relu/test_data_set_0/input_0.pb -o "$T/o"
expect 1 'garbage.onnx'                     -- "$OCTET" run "$T/garbage.onnx" $N/test_relu/test_data_set_0/input_0.pb -o "$T/o"
expect 1 'empty.onnx'                       -- "$OCTET" inspect "$T/empty.onnx"
expect 1 'missing.onnx'                     -- "$OCTET" inspect "$T/missing.onnx"
# The model also has a Hardmax node, unknown when it was made; octet runs Hardmax now, so only FancyNewOp is listed.
expect 1 "unsupported op: FancyNewOp \\(opset 13\\) at node 'fancy'$" -- "$OCTET" inspect tests/data/bad/unknown_ops.onnx
expect 1 "dangling.*nowhere|nowhere.*dangling" -- "$OCTET" inspect tests/data/bad/dangling_input.onnx
expect 1 "conv_bad"                         -- "$OCTET" inspect tests/data/bad/conv_channels.onnx
expect 1 "input 'x'.*3x4x5"                 -- "$OCTET" run $N/test_relu/model.onnx $N/test_conv_with_strides_padding/test_data_set_0/input_0.pb -o "$T/o"
expect 1 'nonexistent.pb'                   -- "$OCTET" run $N/test_relu/model.onnx /nonexistent.pb -o "$T/o"
m=$(ls models/*.onnx 2>/dev/null | head -n 1)
if [ -n "$m" ]; then
  expect 1 'bad.jpg'                        -- "$OCTET" infer "$m" "$T/bad.jpg"
  expect 1 'trunc.png'                      -- "$OCTET" infer "$m" "$T/trunc.png"
  expect 1 'nope.png'                       -- "$OCTET" infer "$m" "$T/nope.png"
fi
expect 2 'unknown command'                  -- "$OCTET" frobnicate
expect 2 'unknown option'                   -- "$OCTET" bench $N/test_relu/model.onnx --no-such-flag
expect 2 'threads'                          -- "$OCTET" bench $N/test_relu/model.onnx --threads x
echo "$fails failed"
[ $fails -eq 0 ]

#!/usr/bin/env bash
# relabel_opset7.sh NODE_DIR OUT_DIR CASE...: copies ONNX backend node test cases into OUT_DIR with the model's
# default-domain opset import raised to 7, and prints the new case folders.
#
# octet loads opsets 7 to 17. Some of ONNX's node tests are stamped with an older opset (1 or 6) although their op
# has had the same definition from that version to 17 (Elu, Selu, HardSigmoid: version 6; Not, Softplus,
# Softsign: version 1; later versions only widened the type lists). Under opset 7 the node resolves to the same
# definition, so the relabelled case checks exactly what the original does: the node, its attributes and the
# test data are untouched. Only call this for such ops.
set -euo pipefail
NODE=$1 OUT=$2
shift 2
PROTO=/usr/include/onnx/onnx.proto
for c in "$@"; do
  src=$NODE/$c dst=$OUT/${c}_opset7
  mkdir -p "$dst"
  cp -r "$src"/test_data_set_* "$dst"/
  # In the text form, the opset import's version is the only field at two spaces' indentation named `version`.
  protoc --decode=onnx.ModelProto -I"$(dirname $PROTO)" $PROTO < "$src/model.onnx" |
    sed -E 's/^  version: [1-6]$/  version: 7/' |
    protoc --encode=onnx.ModelProto -I"$(dirname $PROTO)" $PROTO > "$dst/model.onnx"
  echo "$dst"
done

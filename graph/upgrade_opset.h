// Default-domain opset upgrade: rewrites a graph's nodes from an older opset (7..12) into the forms of a newer
// one (13..17), as onnx.version_converter and ONNX Runtime's quantizer do before writing per-channel
// DequantizeLinear (opset 13). A pure graph transform: no shapes are needed, nothing is computed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet {

/// Rewrites every default-domain node whose definition changed between g's opset and `target` (attributes that
/// became inputs, Softmax's 2-D coercion, Upsample -> Resize, ...) and sets g's default opset to `target`.
/// Returns one line per rewritten node ("'sq1' (Squeeze): axes attribute -> input"). Throws Unsupported naming
/// the node for a form it cannot express at `target`. A no-op when the graph is already at `target` or later.
std::vector<std::string> upgrade_default_opset(Graph& g, int64_t target);

}  // namespace octet

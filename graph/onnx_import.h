// ONNX ModelProto -> Graph. Every error names the file (and the node or tensor) and what was expected.
#pragma once

#include <cstddef>
#include <string>

#include "graph/ir.h"

namespace octet {

/// Loads a model file. External data files are resolved inside the model's folder only.
/// Throws Error on a missing, truncated or malformed file.
/// borrow: the 1-byte initializers (int8 weights) keep pointing into the read-only mapping of the file instead
/// of being copied; the mapping lives until the last of them is dropped. Saves a copy of the weights (and its
/// fresh pages: about a third of an int8 ResNet-50's session creation) for a caller that drops them soon, after
/// packing, and checks the file did not change in between (Session::load does both).
Graph load_onnx(const std::string& path, bool borrow = false);
/// Loads a model from memory; `name` is used in messages, `base_dir` for external data ("" = none allowed).
Graph load_onnx_buffer(const void* data, size_t size, const std::string& name, const std::string& base_dir);

}  // namespace octet

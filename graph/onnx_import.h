// ONNX ModelProto -> Graph. Every error names the file (and the node or tensor) and what was expected.
#pragma once

#include <cstddef>
#include <string>

#include "graph/ir.h"

namespace octet {

/// Loads a model file. External data files are resolved inside the model's folder only.
/// Throws Error on a missing, truncated or malformed file.
Graph load_onnx(const std::string& path);
/// Loads a model from memory; `name` is used in messages, `base_dir` for external data ("" = none allowed).
Graph load_onnx_buffer(const void* data, size_t size, const std::string& name, const std::string& base_dir);

}  // namespace octet

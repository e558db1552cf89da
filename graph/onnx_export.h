// Graph -> ONNX ModelProto: the inverse of graph/onnx_import.cpp, so a model read, rewritten (e.g. quantized by
// quant/) and written back keeps everything octet read from it: opset imports, metadata_props, producer, graph
// inputs/outputs with symbolic dims, value_info, initializers (as raw_data) and node attributes.
#pragma once

#include <string>

#include "graph/ir.h"

namespace onnx {
class ModelProto;
}

namespace octet {

/// Fills `m` from a model graph (live nodes, written in topological order). Throws Error naming the node when the
/// graph holds something ONNX cannot express: an engine-internal node (domain "octet", a fused epilogue, a
/// non-plain layout) or a subgraph attribute. Constants referenced by nodes become initializers; values with a
/// known type become value_info.
void export_onnx(const Graph& g, onnx::ModelProto& m);

/// The serialized model. Throws Error as export_onnx.
std::string export_onnx_bytes(const Graph& g);

/// Writes the model to `path`. Throws Error naming the file when it cannot be written.
void save_onnx(const Graph& g, const std::string& path);

/// The lowest ONNX IR version that a default-domain opset needs (opset 13 -> IR 7; ONNX's versioning table).
int64_t ir_version_for_opset(int64_t opset);

}  // namespace octet

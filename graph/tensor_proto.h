// TensorProto files (.pb), as used by ONNX's backend test data and `octet run`.
#pragma once

#include <string>

#include "graph/tensor.h"

namespace octet {

/// Reads a serialized onnx.TensorProto. `name_out` (optional) receives the tensor's name.
/// Throws Error naming the file on a missing/corrupt file or an unsupported dtype.
Tensor read_tensor_pb(const std::string& path, std::string* name_out = nullptr);
/// Writes `t` as a TensorProto named `name` (raw_data encoding). Throws Error naming the file on failure.
void write_tensor_pb(const std::string& path, const TensorView& t, const std::string& name);

}  // namespace octet

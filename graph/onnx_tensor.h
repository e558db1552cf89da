// onnx::TensorProto <-> Tensor: the one place that decodes ONNX tensor data (typed fields, raw_data, external
// data files). Used by the model loader (initializers, tensor attributes) and by the .pb reader/writer.
// Internal to graph/: only files that already include "onnx/onnx.pb.h" need it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "graph/tensor.h"

namespace onnx {
class TensorProto;
}

namespace octet {

/// Where a TensorProto comes from, for messages and external data.
struct TensorSource {
  std::string what;      // prefix of messages: "m.onnx: initializer 'w'"
  std::string base_dir;  // folder that external data files must lie in; "" = external data not allowed
};

/// Maps an ONNX elem_type / data_type number to DType; throws Unsupported("<what>: data type N ...") for
/// types octet has no DType for (string, complex, float8, ...).
DType dtype_from_onnx(int32_t t, const std::string& what);

/// Decodes a TensorProto; checks that the data size matches the dims. Throws Error prefixed by src.what.
Tensor tensor_from_proto(const onnx::TensorProto& p, const TensorSource& src);
/// The same for a message whose raw_data field the loader lifted out before parsing (the model file is mapped,
/// and the bytes are copied once, straight into the Tensor): `raw_data` stands for that field. With `borrow`
/// set, a tensor of a 1-byte element type (int8 weights, uint8 constants) is not copied at all: it borrows
/// raw_data's bytes, keeping alive the owner that borrow(raw_data) returns (Tensor::Borrowed; a null owner: copy).
Tensor tensor_from_proto(const onnx::TensorProto& p, std::string_view raw_data, const TensorSource& src,
                         const std::function<std::shared_ptr<const void>(std::string_view)>& borrow = {});

/// Encodes `t` (plain or nhwc layout; written in logical order) as a TensorProto with raw_data.
void tensor_to_proto(const TensorView& t, const std::string& name, onnx::TensorProto& p);

/// Reads a whole file; throws Error("<path>: cannot open file (...)") when missing or unreadable.
std::string read_file_bytes(const std::string& path);

}  // namespace octet

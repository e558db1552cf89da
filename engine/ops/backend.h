// Which library runs the int8 ops that both octet and oneDNN implement. The environment variable
// OCTET_BACKEND=octet|onednn (default octet) is read here and nowhere else; `onednn` is for comparison (the
// same model, oneDNN's int8 primitives) and to test the fallback path end to end.
#pragma once

namespace octet::ops {

enum class QuantBackend { octet, onednn };

/// OCTET_BACKEND, read once. Throws std::invalid_argument naming the variable on any other value.
QuantBackend quant_backend();
const char* quant_backend_name(QuantBackend b);

}  // namespace octet::ops

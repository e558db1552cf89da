// Which library runs the int8 ops that both octet and oneDNN implement. The environment variable
// OCTET_BACKEND=octet|onednn (default octet) is read here and nowhere else; `onednn` is for comparison (the
// same model, oneDNN's int8 primitives) and to test the fallback path end to end.
#pragma once

namespace octet::ops {

enum class QuantBackend { octet, onednn };

/// OCTET_BACKEND, read once. Throws std::invalid_argument naming the variable on any other value.
QuantBackend quant_backend();
const char* quant_backend_name(QuantBackend b);

/// For tests: while it lives, kernels created in this process use `b` instead of OCTET_BACKEND. Not for
/// concurrent use with sessions being created on other threads.
class ScopedQuantBackend {
 public:
  explicit ScopedQuantBackend(QuantBackend b);
  ~ScopedQuantBackend();
  ScopedQuantBackend(const ScopedQuantBackend&) = delete;
  ScopedQuantBackend& operator=(const ScopedQuantBackend&) = delete;

 private:
  int previous_;
};

}  // namespace octet::ops

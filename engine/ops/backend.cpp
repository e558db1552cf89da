#include "engine/ops/backend.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace octet::ops {

QuantBackend quant_backend() {
  static const QuantBackend b = [] {
    const char* v = std::getenv("OCTET_BACKEND");
    const std::string s = v ? v : "";
    if (s.empty() || s == "octet") return QuantBackend::octet;
    if (s == "onednn") return QuantBackend::onednn;
    throw std::invalid_argument("OCTET_BACKEND='" + s + "': expected 'octet' (the default) or 'onednn'");
  }();
  return b;
}

const char* quant_backend_name(QuantBackend b) { return b == QuantBackend::onednn ? "onednn" : "octet"; }

}  // namespace octet::ops

#include "engine/ops/backend.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace octet::ops {

namespace {
std::atomic<int> g_override{-1};  // a ScopedQuantBackend's choice, or -1
}  // namespace

QuantBackend quant_backend() {
  if (const int o = g_override.load(); o >= 0) return QuantBackend(o);
  static const QuantBackend b = [] {
    const char* v = std::getenv("OCTET_BACKEND");
    const std::string s = v ? v : "";
    if (s.empty() || s == "octet") return QuantBackend::octet;
    if (s == "onednn") return QuantBackend::onednn;
    throw std::invalid_argument("OCTET_BACKEND='" + s + "': expected 'octet' (the default) or 'onednn'");
  }();
  return b;
}

ScopedQuantBackend::ScopedQuantBackend(QuantBackend b) : previous_(g_override.exchange(int(b))) {}
ScopedQuantBackend::~ScopedQuantBackend() { g_override.store(previous_); }

const char* quant_backend_name(QuantBackend b) { return b == QuantBackend::onednn ? "onednn" : "octet"; }

}  // namespace octet::ops

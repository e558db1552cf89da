#include "engine/kernel.h"

#include "engine/ops/ops.h"

namespace octet {

KernelRegistry& KernelRegistry::instance() {
  static KernelRegistry r;
  return r;
}

// The registry is filled explicitly (not by static initialisers, which a static library may drop).
KernelRegistry::KernelRegistry() {
  ops::register_eltwise(*this);
  ops::register_shape_ops(*this);
  ops::register_pool(*this);
  ops::register_conv(*this);
  ops::register_gemm(*this);
  ops::register_quant(*this);
  // data movement and spatial ops
  ops::register_copy_ops(*this);
  ops::register_index_ops(*this);
  ops::register_resize(*this);
  ops::register_conv_transpose(*this);
  ops::register_spatial_extra(*this);
  // ops-elt: element-wise ops beyond the foundation's
  ops::register_eltwise_math(*this);
  ops::register_broadcast_ops(*this);
  ops::register_cast(*this);
  // ops-red: reductions, normalisation, einsum, recurrent
  ops::register_reduce(*this);
  ops::register_normalize(*this);
  ops::register_einsum(*this);
  ops::register_recurrent(*this);
}

void KernelRegistry::add(const std::string& domain, const std::string& op_type, KernelFactory f) {
  table_.emplace_back(domain + ":" + op_type, f);
}

KernelFactory KernelRegistry::find(const std::string& domain, const std::string& op_type) const {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  const std::string key = d + ":" + op_type;
  for (auto& [k, f] : table_)
    if (k == key) return f;
  return nullptr;
}

std::vector<std::string> KernelRegistry::ops() const {
  std::vector<std::string> r;
  for (auto& [k, f] : table_) r.push_back(k);
  return r;
}

}  // namespace octet

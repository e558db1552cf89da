// Reads the fused epilogue of a Conv/Gemm/MatMul node (Node::fusion) into the kernels' terms.
#pragma once

#include <string>

#include "engine/kernel.h"
#include "kernels/gemm/sgemm.h"

namespace octet::ops {

/// Node::fusion.activation as a kernel activation; Unsupported naming the node for anything else.
inline kernels::gemm::Activation fused_activation(const KernelInfo& info) {
  const Fusion& f = info.node().fusion;
  kernels::gemm::Activation a;
  a.alpha = f.alpha;
  a.beta = f.beta;
  if (f.activation.empty())
    a.kind = kernels::gemm::Activation::none;
  else if (f.activation == "Relu")
    a.kind = kernels::gemm::Activation::relu;
  else if (f.activation == "LeakyRelu")
    a.kind = kernels::gemm::Activation::leaky_relu;
  else if (f.activation == "Clip")
    a.kind = kernels::gemm::Activation::clip;
  else if (f.activation == "Sigmoid")
    a.kind = kernels::gemm::Activation::sigmoid;
  else if (f.activation == "HardSigmoid")
    a.kind = kernels::gemm::Activation::hard_sigmoid;
  else if (f.activation == "HardSwish")
    a.kind = kernels::gemm::Activation::hard_swish;
  else if (f.activation == "Silu")
    a.kind = kernels::gemm::Activation::silu;
  else
    throw Unsupported(info.graph.where(info.node_id) + ": fused activation '" + f.activation +
                      "' is not supported (expected Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish or Silu)");
  return a;
}

/// Index into the node's inputs of the fused residual, or -1; checks it is present and float32.
inline int fused_residual(const KernelInfo& info) {
  const int r = info.node().fusion.residual_input;
  if (r < 0) return -1;
  if (!info.has_input(r)) info.fail("fused residual input " + std::to_string(r) + " is absent");
  if (info.input(r).dtype != DType::f32)
    throw Unsupported(info.graph.where(info.node_id) + ": residual '" + info.input(r).name + "' is " +
                      dtype_name(info.input(r).dtype) + ", expected float32");
  return r;
}

}  // namespace octet::ops

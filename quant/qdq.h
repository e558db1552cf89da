// Float model -> standard QDQ ONNX model, laid out as ONNX Runtime's static quantizer (QDQ format) lays it out,
// so that ORT's QDQ fusions (onnxruntime/core/optimizer/qdq_transformer) turn it into int8 kernels, and octet's
// own QDQ importer sees the same patterns it sees in ORT-made files.
//
//   x (u8, per tensor, asymmetric)   w (s8, per output channel, symmetric)   b (int32)
//   Q -> DQ on each quantized activation; weights as int8 initializers behind DequantizeLinear(axis 0);
//   bias as int32 initializer behind DequantizeLinear with scale[oc] = s_x * s_w[oc], zero point 0.
//
// The steps are separate so calibration sits between them:
//   prepare_model   BatchNormalization folded into the conv weights (graph passes), Identity removed
//   plan_qdq        which tensors get Q/DQ, which are calibrated, which Relu/Clip disappear
//   (calibrate the plan's tensors on the prepared model: quant/calibrator.h)
//   apply_qdq       the rewrite, given one QParams per calibrated tensor
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/ir.h"
#include "graph/tensor.h"
#include "quant/histogram.h"

namespace octet::quant {

/// The model with BatchNormalization folded into the preceding Conv/Gemm and Identity/Dropout removed, using
/// the engine's passes. Shapes are inferred (with `input_shapes`, symbolic dims set to 1 when empty) only to let
/// the passes run; the result keeps the model's own dims (symbolic batch) and gains element types on every value.
/// Throws Error naming the model/node when shapes cannot be inferred.
Graph prepare_model(const Graph& model, const std::vector<Shape>& input_shapes = {});

/// How the quantizer treats a node (by op type), as in ORT's quantizer registry:
///   weighted   Conv, Gemm, MatMul with a constant weight: input, weight (per channel), bias, output quantized
///   generic    Add, Mul, AveragePool, GlobalAveragePool, Concat, Sigmoid, LeakyRelu: every float input and output
///   removable  Relu, Clip: after a quantized tensor read only by them, they disappear into its Q/DQ (u8 with the
///              activation's range, zero point 0 for ReLU: quantization clamps at 0 exactly as ReLU does)
///   direct     MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze: data moves unchanged, so the output uses
///              the input's parameters and ORT can drop the Q/DQ pair around them and run them on u8 directly
struct QdqPlan {
  /// Value id -> the value id whose calibrated parameters it uses (itself, or a direct op's input).
  std::map<int, int> activations;
  /// Relu/Clip nodes that disappear: their producer writes their output.
  std::vector<int> removed;
  /// Nodes whose weight (input 1) is quantized per channel along `axis`, and whose bias (if constant) as int32.
  struct Weighted {
    int node, axis;
    bool bias;
  };
  std::vector<Weighted> weighted;

  /// Names of the tensors to calibrate (the values that use their own parameters), in value order.
  std::vector<std::string> calibrated(const Graph& g) const;
};

/// Plans the rewrite of a prepared model. `exclude`: node names kept FP32 (each must exist: Error otherwise).
/// Throws Error when the model's default opset is below 13 (per-channel DequantizeLinear needs 13).
QdqPlan plan_qdq(const Graph& prepared, const std::set<std::string>& exclude);

/// The QDQ model: `params` maps every name of plan.calibrated() to its parameters (Error naming the tensor when
/// one is missing). Adds metadata_props "octet.quantization" = `note`. The result is a model graph for
/// save_onnx(): Q/DQ nodes named "<tensor>_QuantizeLinear"/"_DequantizeLinear" as ORT names them.
/// `weight_bits` 8 (default) or 7: see quantize_weight.
Graph apply_qdq(const Graph& prepared, const QdqPlan& plan, const std::map<std::string, QParams>& params,
                const std::string& note = "", int weight_bits = 8);

/// Per-channel symmetric s8 weights: scale[c] = max|w_c| / qmax (1 for an all-zero channel),
/// q = clamp(round_half_even(w / scale[c]), -qmax, qmax), qmax = 2^(bits-1) - 1: 127 for 8 bits, 63 for 7.
/// `axis` is the channel dim (0 for Conv). 7 bits is ONNX Runtime's `reduce_range`: with |w| <= 63 a pair of
/// u8 x s8 products sums to at most 2 * 255 * 63 = 32130 < 32767, so CPUs without VNNI that add pairs in a
/// saturating int16 (vpmaddubsw: ORT's AVX2 kernels) compute the file exactly (INT8-NOTES); octet is exact with
/// either.
struct QuantizedWeight {
  Tensor q;                    // int8, the weight's shape
  std::vector<float> scale;    // one per channel
};
QuantizedWeight quantize_weight(const Tensor& w, int axis, int bits = 8);

}  // namespace octet::quant

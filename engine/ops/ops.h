// Each file in engine/ops registers the kernels of one op family.
#pragma once

namespace octet {
class KernelRegistry;
}

namespace octet::ops {

/// Relu, Clip, LeakyRelu, Sigmoid, Add/Sub/Mul/Div (broadcasting), Softmax, BatchNormalization (unfused),
/// Identity, Dropout.  (engine/ops/eltwise.cpp)
void register_eltwise(KernelRegistry& r);
/// Flatten, Reshape, Transpose, Concat, Shape, Gather, Unsqueeze, Squeeze, Constant, Reorder (layout change).
/// (engine/ops/shape_ops.cpp)
void register_shape_ops(KernelRegistry& r);
/// MaxPool, AveragePool, GlobalAveragePool.  (engine/ops/pool.cpp)
void register_pool(KernelRegistry& r);
/// Conv (with fused bias/activation/residual).  (engine/ops/conv.cpp)
void register_conv(KernelRegistry& r);
/// Gemm, MatMul (with fused bias/activation).  (engine/ops/gemm.cpp)
void register_gemm(KernelRegistry& r);
/// QuantizeLinear, DequantizeLinear, QLinearConv/MatMul/Add/GlobalAveragePool and octet's internal int8 ops.
/// (engine/ops/qlinear.cpp, qconv.cpp)
void register_quant(KernelRegistry& r);

// ---- data movement and spatial ops (engine/ops/copy_ops.cpp, index_ops.cpp, resize.cpp, conv_transpose.cpp,
// lrn.cpp) ----
/// Slice, Pad, Expand, Tile, DepthToSpace, SpaceToDepth, Split.  (engine/ops/copy_ops.cpp)
void register_copy_ops(KernelRegistry& r);
/// ConstantOfShape, Size, Range, EyeLike, Trilu, CumSum, GatherElements, GatherND, ScatterND, OneHot, TopK.
/// (engine/ops/index_ops.cpp)
void register_index_ops(KernelRegistry& r);
/// Resize, Upsample.  (engine/ops/resize.cpp)
void register_resize(KernelRegistry& r);
/// ConvTranspose.  (engine/ops/conv_transpose.cpp)
void register_conv_transpose(KernelRegistry& r);
/// LRN, GlobalMaxPool.  (engine/ops/lrn.cpp, pool.cpp)
void register_spatial_extra(KernelRegistry& r);
// ---- element-wise ops beyond the foundation's (ops-elt) ----
/// Abs, Neg, Exp, Log, Sqrt, Reciprocal, Tanh, Erf, Floor, Ceil, Round, Sin, Cos, Sign, Softplus, Softsign, Elu,
/// Selu, Celu, HardSigmoid, HardSwish, ThresholdedRelu, IsNaN, IsInf, Not.  (engine/ops/eltwise_math.cpp)
void register_eltwise_math(KernelRegistry& r);
/// Pow, PRelu, Max, Min, Sum, Mean, Mod, Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Where.
/// (engine/ops/broadcast_ops.cpp)
void register_broadcast_ops(KernelRegistry& r);
/// Cast, CastLike.  (engine/ops/cast.cpp)
void register_cast(KernelRegistry& r);
// ---- reductions, normalisation, einsum, recurrent (ops-red) ----
/// ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax, ArgMin.  (engine/ops/reduce.cpp)
void register_reduce(KernelRegistry& r);
/// LayerNormalization, InstanceNormalization, LpNormalization, MeanVarianceNormalization, LogSoftmax, Hardmax.
/// (engine/ops/normalize.cpp)
void register_normalize(KernelRegistry& r);
/// Einsum.  (engine/ops/einsum.cpp)
void register_einsum(KernelRegistry& r);
/// LSTM, GRU, RNN.  (engine/ops/recurrent.cpp)
void register_recurrent(KernelRegistry& r);

}  // namespace octet::ops

// What `octet infer` makes of a model's outputs: their kind (class scores, a segmentation map, or other tensors),
// each image's part of a batched run, segmentation argmax maps and class shares, and tensor statistics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace octet::tools {

enum class OutputKind {
  classes,       // one float32 output [N, K] or [N, K, 1, 1]: top-k
  segmentation,  // one float32 output [N, C, H, W], C >= 2, H > 1, W > 1: a class per pixel
  tensors,       // anything else (several outputs, detector heads, sequence logits): statistics per output
};
/// "classes", "segmentation", "tensors".
const char* kind_name(OutputKind k);

/// The kind of a run's outputs for a batch of `batch` images (N must equal it for classes and segmentation).
OutputKind output_kind(const std::vector<Tensor>& outputs, int64_t batch);

/// Image i's part of every output of a run over `batch` images: the [1, ...] slice of the first dim (a copy);
/// with batch 1, the outputs themselves. Throws Error naming the model and output when batch > 1 and an output's
/// first dim is not the batch (its rows cannot be told apart by image).
std::vector<Tensor> image_slice(const std::vector<Tensor>& outputs, const std::vector<std::string>& names,
                                int64_t batch, int64_t i, const std::string& model);

/// The class of every pixel of a [1, C, H, W] score map: argmax over C (ties go to the lower class, NaN ranks
/// last), row-major H x W.
struct SegmentationMap {
  int classes = 0, height = 0, width = 0;
  std::vector<int32_t> label;
};
SegmentationMap argmax_map(const Tensor& scores);

/// Pixels of one class in a map, and their share of all H * W pixels.
struct ClassShare {
  int index = 0;
  int64_t pixels = 0;
  double share = 0;
};
/// The classes present in the map (pixels > 0), most pixels first, ties by lower index.
std::vector<ClassShare> class_shares(const SegmentationMap& m);

/// Elements up to which tensor_stats reports the argmax (beyond, one position in a large map says little).
inline constexpr int64_t kArgmaxMaxElements = 1024;

/// Summary of one tensor's values (as double): min, max, mean and population standard deviation
/// std = sqrt(sum (x - mean)^2 / n) (numpy's default, ddof 0), over the non-NaN elements; `nan` counts the NaNs.
/// argmax: the flat index of the first maximum and its coordinates, for tensors of at most kArgmaxMaxElements
/// elements (else -1). `numeric` is false for element types without values here (strings, float16, bfloat16).
struct TensorStats {
  bool numeric = false;
  int64_t count = 0, nan = 0;
  double min = 0, max = 0, mean = 0, std = 0;
  int64_t argmax = -1;
  Shape argmax_at;
};
TensorStats tensor_stats(const Tensor& t);

}  // namespace octet::tools

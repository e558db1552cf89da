// `octet infer`'s report: one result per image, printed as text or as one JSON document (keys in README.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tools/infer_outputs.h"

namespace octet::tools {

/// One output of a `tensors` result.
struct OutputSummary {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;
  TensorStats stats;
};

struct ImageResult {
  std::string image;
  OutputKind kind = OutputKind::tensors;
  std::vector<int> top;     // classes: the top-k indices
  std::vector<float> prob;  // classes: probabilities of the whole row
  std::string map_output;   // segmentation: the output's name, its shape, and the classes present
  Shape map_shape;
  std::vector<ClassShare> shares;
  std::vector<OutputSummary> outputs;                      // tensors
  std::string mask;                                        // the mask PNG written (--mask), else empty
  std::vector<std::pair<std::string, std::string>> saved;  // --save: output name -> file
};

void print_text(const std::vector<ImageResult>& results, const std::vector<std::string>& labels);
void print_json(const std::vector<ImageResult>& results, const std::vector<std::string>& labels);

}  // namespace octet::tools

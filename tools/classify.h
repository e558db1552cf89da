// What `infer` and `eval` share: the image input of a classifier, preprocessing options from flags and model
// metadata, labels, batching images through a session, and turning outputs into ranked probabilities.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/image.h"
#include "engine/session.h"
#include "tools/args.h"

namespace octet::tools {

/// Flags of the image preprocessing (with a value) and its switch.
inline const std::set<std::string> kImageFlags = {"--resize", "--mean", "--std"};
inline const std::string kNoCropFlag = "--no-crop";

/// The model's image input: its first input, NCHW float.
struct ImageInput {
  std::string name;
  int channels = 0, height = 0, width = 0;  // height/width 0: symbolic, the image's own size (see load_image)
  int64_t fixed_batch = 0;  // the batch the model (or --shape) requires; 0 when any batch goes
  bool free_size() const { return height == 0 || width == 0; }
};

/// Reads the image input from the model and --shape (via the session's options). Throws Error naming the model
/// when it has several inputs, a non-float input, a rank other than 4, or unknown C/H/W without --shape.
/// `free_size`: a symbolic H and/or W is allowed (left 0: each image runs at its own size); C must be known.
ImageInput image_input(const Session& s, bool free_size = false);

/// Preprocessing: flags win; else the model's metadata_props "octet.resize", "octet.crop" ("0"/"1"),
/// "octet.mean", "octet.std" (comma lists); else load_image's defaults. Throws UsageError on bad flags and
/// Error (naming the model) on bad metadata.
ImageOptions image_options(const Args& a, const Graph& model);

/// Throws Error when mean/std have neither 1 value nor one per input channel.
void check_image_options(const ImageOptions& o, const ImageInput& in, const Args& a, const Graph& model);

/// Class names: --labels FILE (one per line), else metadata_props "labels" (newline-separated), else none.
std::vector<std::string> class_labels(const Args& a, const Graph& model);
/// labels[i], or the index as text when there is no such label.
std::string label_name(const std::vector<std::string>& labels, int64_t i);

/// Decodes `paths` (in parallel over `threads` workers) into one [B, C, H, W] tensor, B = max(paths, batch):
/// rows past the images are zero (padding for a model with a fixed batch). Throws Error naming a bad file.
Tensor load_batch(const std::vector<std::string>& paths, const ImageInput& in, const ImageOptions& opt,
                  int64_t batch, int threads);

/// One decoded image: its [1, C, H, W] tensor and where its pixels came from.
struct DecodedImage {
  std::string path;
  Tensor x;
  ImageFrame frame;
};

/// Decodes `paths` (in parallel over `threads` workers), each at the input's size (or its own when free).
/// Throws Error naming the first bad file (in path order).
std::vector<DecodedImage> decode_images(const std::vector<std::string>& paths, const ImageInput& in,
                                        const ImageOptions& opt, int threads);

/// Runs a batch and returns the first output as rows: [batch][classes]. Throws Error when the output's first dim
/// is not the batch.
std::vector<std::vector<float>> classify(Session& s, const Tensor& batch);

/// A row as probabilities: unchanged when it already is a distribution (all >= 0 and sum within 1e-3 of 1),
/// else softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x) (the max shift avoids overflow).
std::vector<float> to_probabilities(const std::vector<float>& row);

/// Indices of the k largest values, largest first; ties go to the lower index.
std::vector<int> top_k(const std::vector<float>& v, int k);

}  // namespace octet::tools

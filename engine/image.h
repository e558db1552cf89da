// Image file -> model input tensor, preprocessed like torchvision's Resize + CenterCrop + Normalize on PIL
// images (bilinear with antialiasing when shrinking).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "graph/ir.h"
#include "graph/tensor.h"

namespace octet {

struct ImageOptions {
  int resize = 0;             // shorter side before the crop; 0: round(crop_size / 0.875) (256 for 224)
  bool crop = true;           // false: resize straight to the input size (no crop)
  std::vector<float> mean;    // per channel; empty: ImageNet's for 3 channels, 0 for 1 channel
  std::vector<float> std;     // per channel; empty: ImageNet's for 3 channels, 1 for 1 channel
};

/// The preprocessing a model asks for in its metadata_props: "octet.resize" (a positive integer), "octet.crop"
/// ("0" or "1"), "octet.mean" and "octet.std" (comma lists of numbers); keys left out keep ImageOptions' defaults.
/// `channels` > 0 also checks that a mean/std list has one value or one per channel. Used by `octet infer` (whose
/// flags then override) and the C API's image helper, so both preprocess alike. Throws Error naming the model and
/// the key when a value does not parse.
ImageOptions image_options_from_metadata(const Graph& model, int channels = 0);

/// Decodes a JPEG/PNG file and returns a float tensor [1, channels, height, width] (NCHW), values
/// (x/255 - mean) / std. channels 1 converts to grayscale (luma, as PIL's convert("L")), 3 to RGB.
/// Throws Error naming the file when it is missing, not an image, or corrupt.
Tensor load_image(const std::string& path, int channels, int height, int width, const ImageOptions& opt = {});
/// The same from an encoded image in memory; `name` is used in messages.
Tensor decode_image(const void* data, size_t size, const std::string& name, int channels, int height, int width,
                    const ImageOptions& opt = {});

/// Decodes `paths` (in parallel over `threads` workers) into one [B, channels, height, width] tensor,
/// B = max(paths, batch): rows past the images are zero (padding for a model with a fixed batch). Throws Error
/// naming the first bad file in path order (the message does not depend on timing).
Tensor load_image_batch(const std::vector<std::string>& paths, int channels, int height, int width,
                        const ImageOptions& opt, int64_t batch, int threads);

}  // namespace octet

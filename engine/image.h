// Image file -> model input tensor, preprocessed like torchvision's Resize + CenterCrop + Normalize on PIL
// images (bilinear with antialiasing when shrinking).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace octet {

struct ImageOptions {
  int resize = 0;             // shorter side before the crop; 0: round(crop_size / 0.875) (256 for 224)
  bool crop = true;           // false: resize straight to the input size (no crop)
  std::vector<float> mean;    // per channel; empty: ImageNet's for 3 channels, 0 for 1 channel
  std::vector<float> std;     // per channel; empty: ImageNet's for 3 channels, 1 for 1 channel
};

/// Decodes a JPEG/PNG file and returns a float tensor [1, channels, height, width] (NCHW), values
/// (x/255 - mean) / std. channels 1 converts to grayscale (luma, as PIL's convert("L")), 3 to RGB.
/// Throws Error naming the file when it is missing, not an image, or corrupt.
Tensor load_image(const std::string& path, int channels, int height, int width, const ImageOptions& opt = {});
/// The same from an encoded image in memory; `name` is used in messages.
Tensor decode_image(const void* data, size_t size, const std::string& name, int channels, int height, int width,
                    const ImageOptions& opt = {});

}  // namespace octet

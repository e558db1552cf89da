// Image file -> model input tensor, preprocessed like torchvision's Resize + CenterCrop + Normalize on PIL
// images (bilinear with antialiasing when shrinking).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "graph/ir.h"
#include "graph/tensor.h"

namespace octet {

struct ImageOptions {
  int resize = 0;             // shorter side before the crop (free size: of the image run); 0: round(crop_size /
                              // 0.875) (256 for 224), or the image's own size when the size is free
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

/// Where the pixels of a preprocessed tensor came from: the decoded image (original_w x original_h) was resized to
/// resized_w x resized_h, and the tensor (width x height) is the window of that starting at column `left`, row
/// `top` (negative offsets: the window starts in the zero padding). Tensor pixel (x, y) = resized pixel
/// (x + left, y + top). Lets a per-pixel output be mapped back onto the original image.
struct ImageFrame {
  int original_w = 0, original_h = 0;
  int resized_w = 0, resized_h = 0;
  int left = 0, top = 0;
  int width = 0, height = 0;
};

/// Decodes a JPEG/PNG file and returns a float tensor [1, channels, height, width] (NCHW), values
/// (x/255 - mean) / std. channels 1 converts to grayscale (luma, as PIL's convert("L")), 3 to RGB.
/// A size of 0 follows the image (models whose input has a symbolic height/width), and there is no crop:
///   height = width = 0: the image's own size, or with opt.resize > 0 the shorter side resized to opt.resize
///                       and the longer to int(resize * longer / shorter), as torchvision's Resize(int);
///   one of them 0:      the other side is resized to the given size and this one keeps the aspect ratio,
///                       round(given * this / other) (at least 1); opt.resize is not used.
/// `frame` (optional) receives the geometry. Throws Error naming the file when it is missing, not an image, or
/// corrupt.
Tensor load_image(const std::string& path, int channels, int height, int width, const ImageOptions& opt = {},
                  ImageFrame* frame = nullptr);
/// The same from an encoded image in memory; `name` is used in messages.
Tensor decode_image(const void* data, size_t size, const std::string& name, int channels, int height, int width,
                    const ImageOptions& opt = {}, ImageFrame* frame = nullptr);

/// Calls fn(i) for i in [0, n) on up to `threads` threads (the caller's included); rethrows the error of the
/// lowest failing i, so a message does not depend on timing. For decoding a list of images.
void for_each_parallel(int64_t n, int threads, const std::function<void(int64_t)>& fn);

/// Decodes `paths` (in parallel over `threads` workers) into one [B, channels, height, width] tensor,
/// B = max(paths, batch): rows past the images are zero (padding for a model with a fixed batch). Throws Error
/// naming the first bad file in path order (the message does not depend on timing).
Tensor load_image_batch(const std::vector<std::string>& paths, int channels, int height, int width,
                        const ImageOptions& opt, int64_t batch, int threads);

}  // namespace octet

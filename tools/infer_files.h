// The files `octet infer` writes: segmentation masks as colour PNGs at the input image's size (--mask), and
// outputs as TensorProto files (--save), with the names they get when several images run.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/image.h"
#include "tools/infer_outputs.h"

namespace octet::tools {

/// The PASCAL VOC colour map (the palette of VOC's label PNGs): class c's colour spreads c's bits over the three
/// channels from the top bit down, bit 3k of c -> bit 7-k of red, bit 3k+1 -> green, bit 3k+2 -> blue
/// (k = 0..7, so 2^24 distinct colours): 0 black, 1 (128,0,0), 2 (0,128,0), 3 (128,128,0), 4 (0,0,128),
/// 5 (128,0,128), 6 (0,128,128), 7 (128,128,128), 8 (64,0,0), ...
std::array<uint8_t, 3> voc_colour(int c);
/// Pixels of the original image the model did not see (cut off by a centre crop): VOC's "void" colour.
inline constexpr std::array<uint8_t, 3> kUnseenColour = {224, 224, 192};

/// The mask as RGB rows (frame.original_w x frame.original_h, 3 bytes a pixel): each pixel of the original image
/// takes the class of the map pixel it lands on, nearest neighbour through the preprocessing geometry. In integer
/// arithmetic (floor division), for x (the same for y):
///   resized  rx = ((2x + 1) * resized_w) / (2 * original_w)      pixel centres scaled to the resized image
///   window   wx = rx - left                                      unseen when outside [0, frame.width)
///   map      mx = ((2wx + 1) * map.width) / (2 * frame.width)
std::vector<uint8_t> mask_rgb(const SegmentationMap& map, const ImageFrame& frame);

/// Writes 8-bit RGB rows as a PNG (stb_image_write). Throws Error naming the file when it cannot be written.
void write_png(const std::string& path, const std::vector<uint8_t>& rgb, int width, int height);

/// `path` with the image's stem (file name without folder and extension) inserted before the extension:
/// ("out/mask.png", "photos/cat.jpg") -> "out/mask.cat.png"; a path without an extension gets ".cat" appended.
std::string with_image_stem(const std::string& path, const std::string& image);
/// The stem with_image_stem inserts.
std::string image_stem(const std::string& image);

/// File names for --save: DIR/<name>.pb per output, the name sanitised (characters other than letters, digits,
/// '.', '-', '_' become '_'; an empty name or one that is only dots becomes output_<i>) and made unique
/// (a repeat gets _<i> appended, i the output's index, until it is unique).
std::vector<std::string> output_file_names(const std::string& dir, const std::vector<std::string>& names);

}  // namespace octet::tools

// Every distinct convolution of torchvision ResNet-50 v1.5 at batch 1, 224x224 input, with how many times it
// occurs in the network (53 convolutions in all). Shared by the FP32 and int8 kernel benchmarks so both measure
// the same work.
//
// v1.5 puts the stride-2 of a stage's first bottleneck on the 3x3 conv (not the first 1x1); the projection
// shortcut ("ds") is a 1x1 stride-2 conv from the stage input.
#pragma once

#include <cstdint>

namespace octet::bench {

struct ConvShape {
  const char* name;  // layer tag used in benchmark names
  int ic, oc;        // channels
  int h, w;          // input spatial size
  int k;             // square kernel
  int stride, pad;   // symmetric pad
  int count;         // occurrences in the network
  int groups = 1;    // ic == oc == groups: depthwise

  int oh() const { return (h + 2 * pad - k) / stride + 1; }
  int ow() const { return (w + 2 * pad - k) / stride + 1; }
  /// Multiply-accumulates of one run: oc * oh * ow * (ic / groups) * k * k.
  int64_t macs() const { return int64_t(oc) * oh() * ow() * (ic / groups) * k * k; }
  bool depthwise() const { return groups > 1 && groups == ic && groups == oc; }
};

inline constexpr ConvShape kResnet50Convs[] = {
    {"conv1_7x7s2", 3, 64, 224, 224, 7, 2, 3, 1},
    {"l1_1x1_64_64", 64, 64, 56, 56, 1, 1, 0, 1},
    {"l1_3x3_64", 64, 64, 56, 56, 3, 1, 1, 3},
    {"l1_1x1_64_256", 64, 256, 56, 56, 1, 1, 0, 4},  // 3 expand + 1 projection shortcut
    {"l1_1x1_256_64", 256, 64, 56, 56, 1, 1, 0, 2},
    {"l2_1x1_256_128", 256, 128, 56, 56, 1, 1, 0, 1},
    {"l2_3x3s2_128", 128, 128, 56, 56, 3, 2, 1, 1},
    {"l2_1x1_128_512", 128, 512, 28, 28, 1, 1, 0, 4},
    {"l2_ds_256_512s2", 256, 512, 56, 56, 1, 2, 0, 1},
    {"l2_1x1_512_128", 512, 128, 28, 28, 1, 1, 0, 3},
    {"l2_3x3_128", 128, 128, 28, 28, 3, 1, 1, 3},
    {"l3_1x1_512_256", 512, 256, 28, 28, 1, 1, 0, 1},
    {"l3_3x3s2_256", 256, 256, 28, 28, 3, 2, 1, 1},
    {"l3_1x1_256_1024", 256, 1024, 14, 14, 1, 1, 0, 6},
    {"l3_ds_512_1024s2", 512, 1024, 28, 28, 1, 2, 0, 1},
    {"l3_1x1_1024_256", 1024, 256, 14, 14, 1, 1, 0, 5},
    {"l3_3x3_256", 256, 256, 14, 14, 3, 1, 1, 5},
    {"l4_1x1_1024_512", 1024, 512, 14, 14, 1, 1, 0, 1},
    {"l4_3x3s2_512", 512, 512, 14, 14, 3, 2, 1, 1},
    {"l4_1x1_512_2048", 512, 2048, 7, 7, 1, 1, 0, 3},
    {"l4_ds_1024_2048s2", 1024, 2048, 14, 14, 1, 2, 0, 1},
    {"l4_1x1_2048_512", 2048, 512, 7, 7, 1, 1, 0, 2},
    {"l4_3x3_512", 512, 512, 7, 7, 3, 1, 1, 2},
};

}  // namespace octet::bench

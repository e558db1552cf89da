// Einsum's equation, parsed once for shape inference and the kernel (engine/ops/einsum.cpp).
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet {

/// Every operand's dims named by a label: letters are their own labels ('a'..'z', 'A'..'Z'); the dims an
/// ellipsis stands for get labels kEllipsis + k, k counted from the last of them (right-aligned, numpy style),
/// so the ellipsis dims of operands of different rank broadcast against each other.
struct EinsumEquation {
  static constexpr int kEllipsis = 256;
  std::vector<std::vector<int>> in;  // labels of each operand's dims, in order
  std::vector<int> out;              // labels of the output's dims
  std::vector<int> labels;           // every label that appears, ascending
  std::vector<int64_t> size;         // per entry of `labels`: its dim size (broadcast: the non-1 size)
  int index(int label) const;        // position of label in `labels`
  int64_t size_of(int label) const { return size[size_t(index(label))]; }
};

/// Parses node `id`'s `equation` for operands of the given shapes. Spaces are ignored. Without "->" the output
/// is (numpy's implicit mode) the ellipsis dims then the letters that appear once, in alphabetical order.
/// Throws Error via g.fail on a malformed equation, a wrong number of operands, a rank mismatch, or a label
/// whose sizes disagree (other than 1 against n for ellipsis dims).
EinsumEquation parse_einsum(const Graph& g, int id, const std::vector<Shape>& shapes);

}  // namespace octet

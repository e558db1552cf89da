// Calibration statistics of one activation tensor, and the four ways of turning them into a quantization range.
//
// Memory stays bounded however many samples are seen: a tensor keeps its exact min/max and a histogram of a fixed
// number of bins (2048) whose range grows by doubling. Doubling merges bin pairs (2i, 2i+1) into one, so the
// rebinned histogram is the one that would have been built with the wider range from the start (exactly, except
// a value equal to the old upper edge, which the last bin held and which stays one bin lower).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace octet::quant {

class Histogram {
 public:
  static constexpr int kDefaultBins = 2048;
  explicit Histogram(int bins = kDefaultBins);
  /// A histogram given outright (tests): `counts` over [lo, hi) in equal bins, exact extremes min/max.
  Histogram(double lo, double hi, std::vector<int64_t> counts, float min, float max);

  /// Adds values; NaN and infinities are skipped (counted in non_finite()).
  void add(const float* x, size_t n);

  int64_t count() const { return count_; }
  int64_t non_finite() const { return non_finite_; }
  float min() const { return min_; }
  float max() const { return max_; }
  /// The binned range, lo <= min(0, min) and hi >= max(0, max): zero is always inside it.
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  double bin_width() const { return (hi_ - lo_) / double(counts_.size()); }
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  void cover(float mn, float mx);
  std::vector<int64_t> counts_;
  double lo_ = 0, hi_ = 0;
  float min_ = 0, max_ = 0;
  int64_t count_ = 0, non_finite_ = 0;
};

/// A real range [lo, hi] with lo <= 0 <= hi (a u8 quantizer must represent 0 exactly: zero padding, ReLU).
struct Range {
  double lo = 0, hi = 0;
};

enum class Method { minmax, percentile, entropy, mse };
/// "minmax" ... "mse"; throws Error naming the accepted values otherwise.
Method parse_method(const std::string& s);
const char* method_name(Method m);

/// Exact extremes: [min(min, 0), max(max, 0)].
Range range_minmax(const Histogram& h);
/// Cuts (100 - p) / 2 percent of the samples off each end (p = 99.99 keeps all but 1 in 20,000 on each side):
/// hi is the right edge of the first bin k where count(bins <= k) >= N - cut, lo the left edge of the last bin j
/// where count(bins >= j) >= N - cut, both clamped to the exact min/max; then 0 is included.
Range range_percentile(const Histogram& h, double p);
/// TensorRT's entropy calibration adapted to u8: among the candidate windows (see candidate_window) of at least
/// `levels` bins, the one whose `levels`-level quantization Q loses the least information about the clipped
/// histogram P, i.e. the smallest KL(P || Q) = sum_i p_i ln(p_i / q_i). P is the window's counts with the
/// outliers on each side added to its edge bins; Q merges the window's own counts into `levels` equal chunks and
/// spreads each chunk's sum evenly over the chunk's bins where P is non-zero (a level represents only the values
/// that occur). Both are normalised; q_i is floored at 1e-9 where p_i > 0 (a bin Q cannot represent is a large,
/// finite penalty).
Range range_entropy(const Histogram& h, int levels = 256);
/// The candidate window that minimises the expected squared quantization error over the histogram (each bin's
/// count at its centre c): sum_bins count * (c - s * (clamp(round(c / s) + z, 0, levels - 1) - z))^2 with
/// s = (hi - lo) / (levels - 1), z = round(-lo / s). Ties go to the wider window.
Range range_mse(const Histogram& h, int levels = 256);
/// The method's range; `percentile` is used by Method::percentile only.
Range choose_range(const Histogram& h, Method m, double percentile);

/// Candidate n of a histogram of B bins (1 <= n <= B): the window of n bins that scales the binned range
/// [lo, hi] by n / B about 0, so it keeps the share of the window left of 0: bins [a, a + n) with
/// a = round(f_left * (B - n)), f_left = -lo / (hi - lo).
void candidate_window(const Histogram& h, int n, int* first, int* last_exclusive);

/// u8 asymmetric parameters of a range: scale = (hi - lo) / 255, zero_point = round(-lo / scale) in [0, 255]
/// (scale 1, zero point 0 for the empty range [0, 0]).
struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
};
QParams u8_params(const Range& r);

}  // namespace octet::quant

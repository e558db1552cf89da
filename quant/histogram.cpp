#include "quant/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/error.h"

namespace octet::quant {

Histogram::Histogram(int bins) : counts_(size_t(std::max(2, bins + (bins & 1))), 0) {}

Histogram::Histogram(double lo, double hi, std::vector<int64_t> counts, float min, float max)
    : counts_(std::move(counts)), lo_(lo), hi_(hi), min_(min), max_(max) {
  for (int64_t c : counts_) count_ += c;
}

// Grows [lo, hi] by doubling until it holds [mn, mx]. Doubling to the right maps old bins (2i, 2i+1) to new bin
// i (the new bins are twice as wide and start at the same lo); doubling to the left maps them to bin B/2 + i.
void Histogram::cover(float mn, float mx) {
  const size_t B = counts_.size(), half = B / 2;
  if (count_ == 0) {
    lo_ = std::min(0.0, double(mn));
    hi_ = std::max(0.0, double(mx));
    // A tensor of zeros so far: give the range a small width; later data doubles it as far as needed.
    if (hi_ - lo_ <= 0) hi_ = lo_ + 1e-6;
    std::fill(counts_.begin(), counts_.end(), 0);
    return;
  }
  while (double(mx) > hi_) {
    for (size_t i = 0; i < half; ++i) counts_[i] = counts_[2 * i] + counts_[2 * i + 1];
    std::fill(counts_.begin() + long(half), counts_.end(), 0);
    hi_ = lo_ + 2 * (hi_ - lo_);
  }
  while (double(mn) < lo_) {
    std::vector<int64_t> merged(half);
    for (size_t i = 0; i < half; ++i) merged[i] = counts_[2 * i] + counts_[2 * i + 1];
    std::fill(counts_.begin(), counts_.begin() + long(half), 0);
    std::copy(merged.begin(), merged.end(), counts_.begin() + long(half));
    lo_ = hi_ - 2 * (hi_ - lo_);
  }
}

void Histogram::add(const float* x, size_t n) {
  float mn = std::numeric_limits<float>::infinity(), mx = -mn;
  size_t finite = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    ++finite;
  }
  non_finite_ += int64_t(n - finite);
  if (finite == 0) return;
  cover(mn, mx);
  min_ = count_ ? std::min(min_, mn) : mn;
  max_ = count_ ? std::max(max_, mx) : mx;
  const int64_t last = int64_t(counts_.size()) - 1;
  const double inv_w = 1.0 / bin_width();
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    const int64_t b = int64_t((double(x[i]) - lo_) * inv_w);
    ++counts_[size_t(std::clamp<int64_t>(b, 0, last))];
  }
  count_ += int64_t(finite);
}

Method parse_method(const std::string& s) {
  if (s == "minmax") return Method::minmax;
  if (s == "percentile") return Method::percentile;
  if (s == "entropy") return Method::entropy;
  if (s == "mse") return Method::mse;
  throw Error("unknown calibration method '" + s + "' (expected minmax, percentile, entropy or mse)");
}

const char* method_name(Method m) {
  switch (m) {
    case Method::minmax: return "minmax";
    case Method::percentile: return "percentile";
    case Method::entropy: return "entropy";
    case Method::mse: return "mse";
  }
  return "?";
}

namespace {

// The range always holds 0, and never exceeds the exact extremes (with 0 added).
Range finish(const Histogram& h, double lo, double hi) {
  lo = std::max(lo, std::min(0.0, double(h.min())));
  hi = std::min(hi, std::max(0.0, double(h.max())));
  return Range{std::min(lo, 0.0), std::max(hi, 0.0)};
}

Range window_range(const Histogram& h, int a, int b) {
  return finish(h, h.lo() + a * h.bin_width(), h.lo() + b * h.bin_width());
}

}  // namespace

Range range_minmax(const Histogram& h) {
  if (h.count() == 0) return Range{};
  return Range{std::min(0.0, double(h.min())), std::max(0.0, double(h.max()))};
}

Range range_percentile(const Histogram& h, double p) {
  if (h.count() == 0) return Range{};
  const std::vector<int64_t>& c = h.counts();
  const double keep = double(h.count()) - (100.0 - p) / 200.0 * double(h.count());
  const int B = int(c.size());
  int k = B - 1, j = 0;
  double cum = 0;
  for (int i = 0; i < B; ++i) {
    cum += double(c[i]);
    if (cum >= keep) {
      k = i;
      break;
    }
  }
  cum = 0;
  for (int i = B - 1; i >= 0; --i) {
    cum += double(c[i]);
    if (cum >= keep) {
      j = i;
      break;
    }
  }
  return finish(h, h.lo() + j * h.bin_width(), h.lo() + (k + 1) * h.bin_width());
}

void candidate_window(const Histogram& h, int n, int* first, int* last_exclusive) {
  const int B = int(h.counts().size());
  const double f_left = h.hi() > h.lo() ? -h.lo() / (h.hi() - h.lo()) : 0.0;
  int a = int(std::lround(f_left * double(B - n)));
  a = std::clamp(a, 0, B - n);
  *first = a;
  *last_exclusive = a + n;
}

Range range_entropy(const Histogram& h, int levels) {
  const std::vector<int64_t>& c = h.counts();
  const int B = int(c.size());
  if (h.count() == 0 || B < levels || levels < 2) return range_minmax(h);
  std::vector<double> P, Q;
  double best = std::numeric_limits<double>::infinity();
  int best_a = 0, best_b = B;
  for (int n = levels; n <= B; ++n) {
    int a, b;
    candidate_window(h, n, &a, &b);
    P.assign(c.begin() + a, c.begin() + b);
    double inside = 0;
    for (double v : P) inside += v;
    if (inside <= 0) continue;  // Q would be empty
    for (int i = 0; i < a; ++i) P[0] += double(c[i]);
    for (int i = b; i < B; ++i) P[n - 1] += double(c[i]);
    // Q: chunk k holds bins [k n / L, (k + 1) n / L) of the window; its sum (without outliers) spread over the
    // chunk's bins where P is non-zero.
    Q.assign(size_t(n), 0.0);
    for (int k = 0; k < levels; ++k) {
      const int s = int(int64_t(k) * n / levels), e = int(int64_t(k + 1) * n / levels);
      double sum = 0;
      int nonzero = 0;
      for (int i = s; i < e; ++i) {
        sum += double(c[size_t(a + i)]);
        nonzero += P[i] > 0;
      }
      if (nonzero == 0) continue;
      for (int i = s; i < e; ++i)
        if (P[i] > 0) Q[i] = sum / nonzero;
    }
    const double total = double(h.count());
    double kl = 0;
    for (int i = 0; i < n; ++i) {
      if (P[i] <= 0) continue;
      const double p = P[i] / total, q = std::max(Q[i] / inside, 1e-9);
      kl += p * std::log(p / q);
    }
    if (kl <= best) {  // ties: the wider window
      best = kl;
      best_a = a;
      best_b = b;
    }
  }
  return window_range(h, best_a, best_b);
}

Range range_mse(const Histogram& h, int levels) {
  const std::vector<int64_t>& c = h.counts();
  const int B = int(c.size());
  if (h.count() == 0 || levels < 2) return range_minmax(h);
  const double w = h.bin_width(), qmax = levels - 1;
  double best = std::numeric_limits<double>::infinity();
  Range best_r = range_minmax(h);
  for (int n = B; n >= 1; --n) {  // from the widest, so a tie keeps the wider window
    int a, b;
    candidate_window(h, n, &a, &b);
    const Range r = window_range(h, a, b);
    if (r.hi - r.lo <= 0) continue;
    const double s = (r.hi - r.lo) / qmax, z = std::nearbyint(-r.lo / s);
    double err = 0;
    for (int i = 0; i < B; ++i) {
      if (!c[i]) continue;
      const double x = h.lo() + (i + 0.5) * w;
      const double q = std::clamp(std::nearbyint(x / s) + z, 0.0, qmax);
      const double d = x - s * (q - z);
      err += double(c[i]) * d * d;
    }
    if (err < best) {
      best = err;
      best_r = r;
    }
  }
  return best_r;
}

Range choose_range(const Histogram& h, Method m, double percentile) {
  switch (m) {
    case Method::minmax: return range_minmax(h);
    case Method::percentile: return range_percentile(h, percentile);
    case Method::entropy: return range_entropy(h);
    case Method::mse: return range_mse(h);
  }
  return range_minmax(h);
}

QParams u8_params(const Range& r) {
  const float scale = float((r.hi - r.lo) / 255.0);
  if (!(scale > 0) || !std::isfinite(scale)) return QParams{};
  const double z = std::nearbyint(-r.lo / double(scale));
  return QParams{scale, int32_t(std::clamp(z, 0.0, 255.0))};
}

}  // namespace octet::quant

#include "kernels/resize/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace octet::kernels::resize {

namespace {

int64_t round_nearest(Nearest m, double x) {
  const double f = std::floor(x);
  switch (m) {
    case Nearest::floor:
      return int64_t(f);
    case Nearest::ceil:
      return int64_t(std::ceil(x));
    case Nearest::round_prefer_ceil:
      return x - f == 0.5 ? int64_t(f) + 1 : int64_t(std::round(x));
    default:
      return x - f == 0.5 ? int64_t(f) : int64_t(std::round(x));
  }
}

// Keys' cubic convolution weights of the taps at floor - 1 .. floor + 2 for fractional part r:
//   |s| <= 1: (A + 2)|s|^3 - (A + 3)|s|^2 + 1,   1 < |s| < 2: A|s|^3 - 5A|s|^2 + 8A|s| - 4A.
void cubic_weights(double r, double A, double w[4]) {
  const double s0 = r + 1, s1 = r, s2 = 1 - r, s3 = 2 - r;
  w[0] = ((A * s0 - 5 * A) * s0 + 8 * A) * s0 - 4 * A;
  w[1] = ((A + 2) * s1 - (A + 3)) * s1 * s1 + 1;
  w[2] = ((A + 2) * s2 - (A + 3)) * s2 * s2 + 1;
  w[3] = ((A * s3 - 5 * A) * s3 + 8 * A) * s3 - 4 * A;
}

}  // namespace

double original_coord(Coord c, double xr, double scale, int64_t in, double out, double roi_start, double roi_end) {
  switch (c) {
    case Coord::half_pixel:
      return (xr + 0.5) / scale - 0.5;
    case Coord::pytorch_half_pixel:
      return out > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
    case Coord::align_corners:
      return out == 1 ? 0.0 : xr * double(in - 1) / (out - 1);
    case Coord::asymmetric:
      return xr / scale;
    case Coord::tf_half_pixel_for_nearest:
      return (xr + 0.5) / scale;
    case Coord::tf_crop_and_resize:
      return out > 1 ? roi_start * double(in - 1) + xr * (roi_end - roi_start) * double(in - 1) / (out - 1)
                     : 0.5 * (roi_start + roi_end) * double(in - 1);
  }
  return 0;
}

Axis make_axis(const Params& p, int64_t in, int64_t out, double scale, double roi_start, double roi_end) {
  Axis a;
  a.in = in, a.out = out;
  a.taps = p.mode == Mode::nearest ? 1 : p.mode == Mode::linear ? 2 : 4;
  a.idx.resize(size_t(out * a.taps));
  a.w.resize(size_t(out * a.taps));
  a.outside.assign(size_t(out), 0);
  a.identity = in == out;
  for (int64_t j = 0; j < out; ++j) {
    // The output length in the transform is in * scale, not rounded (ONNX's reference: with scales = 0.6 on 4
    // elements align_corners maps 1 -> 1 * 3 / 1.4); with sizes, scale = out / in makes it `out`.
    const double x = original_coord(p.coord, double(j), scale, in, double(in) * scale, roi_start, roi_end);
    if (p.coord == Coord::tf_crop_and_resize && (x < 0 || x > double(in - 1))) a.outside[size_t(j)] = 1;
    double w[4] = {1, 0, 0, 0};
    int64_t first = 0;
    if (p.mode == Mode::nearest) {
      first = round_nearest(p.nearest, x);
    } else {
      const double f = std::floor(x), r = x - f;
      if (p.mode == Mode::linear) {
        first = int64_t(f), w[0] = 1 - r, w[1] = r;
      } else {
        first = int64_t(f) - 1;
        cubic_weights(r, p.cubic_a, w);
      }
    }
    if (p.exclude_outside && a.taps > 1) {
      double sum = 0;
      for (int t = 0; t < a.taps; ++t) {
        if (first + t < 0 || first + t >= in) w[t] = 0;
        sum += w[t];
      }
      for (int t = 0; t < a.taps; ++t) w[t] = sum != 0 ? w[t] / sum : 0;
    }
    for (int t = 0; t < a.taps; ++t) {
      a.idx[size_t(j * a.taps + t)] = std::clamp<int64_t>(first + t, 0, in - 1);
      a.w[size_t(j * a.taps + t)] = float(w[t]);
    }
    // Identity: this output reads exactly input j with weight 1 (taps with weight 0 do not matter).
    for (int t = 0; t < a.taps; ++t) {
      const float wt = a.w[size_t(j * a.taps + t)];
      if (wt != 0 && (wt != 1 || a.idx[size_t(j * a.taps + t)] != j)) a.identity = false;
    }
    if (a.outside[size_t(j)]) a.identity = false;
  }
  return a;
}

void resize_ref(const std::vector<Axis>& axes, float extrapolation, const float* x, float* y) {
  const size_t r = axes.size();
  int64_t total = 1;
  for (const Axis& a : axes) total *= a.out;
  std::vector<int64_t> in_stride(r, 1), o(r, 0), t(r, 0);
  for (size_t d = r; d-- > 1;) in_stride[d - 1] = in_stride[d] * axes[d].in;
  for (int64_t e = 0; e < total; ++e) {
    bool outside = false;
    for (size_t d = 0; d < r; ++d) outside |= axes[d].outside[size_t(o[d])] != 0;
    double acc = 0;
    if (!outside) {
      // Walk every combination of taps (t[d] < taps of axis d).
      std::fill(t.begin(), t.end(), 0);
      while (true) {
        double w = 1;
        int64_t off = 0;
        for (size_t d = 0; d < r; ++d) {
          const size_t k = size_t(o[d] * axes[d].taps + t[d]);
          w *= axes[d].w[k];
          off += axes[d].idx[k] * in_stride[d];
        }
        acc += w * x[off];
        size_t d = r;
        while (d-- > 0) {
          if (++t[d] < axes[d].taps) break;
          t[d] = 0;
        }
        if (d == size_t(-1)) break;
      }
    }
    y[e] = outside ? extrapolation : float(acc);
    for (size_t d = r; d-- > 0;) {
      if (++o[d] < axes[d].out) break;
      o[d] = 0;
    }
  }
}

namespace {

// The last-axis pass (inner == 1) over rows [o0, o1): a gather per output with T taps; T is a template constant so
// the tap loop unrolls, and rows without an outside output skip the per-element check.
template <int T>
void pass_last(const Axis& a, bool any_outside, float extrapolation, const float* x, float* y, int64_t o0, int64_t o1) {
  for (int64_t o = o0; o < o1; ++o) {
    const float* px = x + o * a.in;
    float* py = y + o * a.out;
    const int64_t* idx = a.idx.data();
    const float* w = a.w.data();
    for (int64_t j = 0; j < a.out; ++j, idx += T, w += T) {
      float acc = w[0] * px[idx[0]];
      for (int t = 1; t < T; ++t) acc += w[t] * px[idx[t]];
      py[j] = acc;
    }
    if (any_outside)
      for (int64_t j = 0; j < a.out; ++j)
        if (a.outside[size_t(j)]) py[j] = extrapolation;
  }
}

// One pass along an axis: [outer][a.in][inner] -> [outer][a.out][inner].
void pass(const Axis& a, int64_t outer, int64_t inner, float extrapolation, const float* x, float* y, Parallel* par) {
  const int64_t T = a.taps;
  bool any_outside = false;
  for (uint8_t v : a.outside) any_outside |= v != 0;
  if (inner == 1) {
    auto body = [&](int64_t o0, int64_t o1) {
      switch (T) {
        case 1:
          return pass_last<1>(a, any_outside, extrapolation, x, y, o0, o1);
        case 2:
          return pass_last<2>(a, any_outside, extrapolation, x, y, o0, o1);
        default:
          return pass_last<4>(a, any_outside, extrapolation, x, y, o0, o1);
      }
    };
    if (!par || outer * a.out * T < (1 << 15))
      body(0, outer);
    else
      parallel_for(par, outer, body);
    return;
  }
  // Inner rows: out row (o, j) = sum_t w[j][t] * in row (o, idx[j][t]), `inner` contiguous floats at a time.
  const int64_t rows = outer * a.out;
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / a.out, j = r % a.out;
      float* py = y + r * inner;
      const float* px = x + o * a.in * inner;
      const int64_t* idx = &a.idx[size_t(j * T)];
      const float* w = &a.w[size_t(j * T)];
      if (a.outside[size_t(j)]) {
        std::fill(py, py + inner, extrapolation);
        continue;
      }
      const float* s0 = px + idx[0] * inner;
      const float w0 = w[0];
      for (int64_t i = 0; i < inner; ++i) py[i] = w0 * s0[i];
      for (int64_t t = 1; t < T; ++t) {
        if (w[t] == 0) continue;
        const float* st = px + idx[t] * inner;
        const float wt = w[t];
        for (int64_t i = 0; i < inner; ++i) py[i] += wt * st[i];
      }
    }
  };
  if (!par || rows * inner * T < (1 << 15))
    body(0, rows);
  else
    parallel_for(par, rows, body);
}

}  // namespace

size_t resize_separable_floats(const std::vector<Axis>& axes) {
  // Two ping-pong buffers, each as large as the biggest intermediate.
  std::vector<int64_t> dims;
  for (const Axis& a : axes) dims.push_back(a.in);
  int64_t biggest = 0;
  for (size_t d = axes.size(); d-- > 0;) {
    dims[d] = axes[d].out;
    int64_t n = 1;
    for (int64_t v : dims) n *= v;
    biggest = std::max(biggest, n);
  }
  return size_t(2 * biggest);
}

void resize_separable(const std::vector<Axis>& axes, float extrapolation, const float* x, float* y, float* scratch,
                      Parallel* par) {
  std::vector<int64_t> dims;
  for (const Axis& a : axes) dims.push_back(a.in);
  std::vector<size_t> todo;
  for (size_t d = axes.size(); d-- > 0;)
    if (!axes[d].identity) todo.push_back(d);
  if (todo.empty()) {
    int64_t n = 1;
    for (int64_t v : dims) n *= v;
    std::memcpy(y, x, size_t(n) * sizeof(float));
    return;
  }
  int64_t half = int64_t(resize_separable_floats(axes) / 2);
  const float* src = x;
  for (size_t k = 0; k < todo.size(); ++k) {
    const size_t d = todo[k];
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < d; ++i) outer *= dims[i];
    for (size_t i = d + 1; i < dims.size(); ++i) inner *= dims[i];
    float* dst = k + 1 == todo.size() ? y : scratch + (k % 2) * half;
    pass(axes[d], outer, inner, extrapolation, src, dst, par);
    dims[d] = axes[d].out;
    src = dst;
  }
}

}  // namespace octet::kernels::resize

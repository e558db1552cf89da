#include "kernels/conv/conv_transpose.h"

#include <algorithm>
#include <cstring>

namespace octet::kernels::conv {

namespace {

int64_t prod3(const int64_t v[3]) { return v[0] * v[1] * v[2]; }

size_t align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

void conv_transpose_ref(const ConvTransposeParams& p, const float* x, const float* w, const float* b, float* y) {
  const int64_t cg = p.ic / p.groups, mg = p.oc / p.groups, K = prod3(p.k), I = prod3(p.in), O = prod3(p.out);
  std::vector<double> acc(size_t(p.n * p.oc * O));
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t oc = 0; oc < p.oc; ++oc)
      for (int64_t o = 0; o < O; ++o) acc[size_t((n * p.oc + oc) * O + o)] = b ? b[oc] : 0.0;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t c = 0; c < p.ic; ++c) {
      const int64_t g = c / cg;
      for (int64_t i = 0; i < I; ++i) {
        const int64_t iz = i / (p.in[1] * p.in[2]), iy = (i / p.in[2]) % p.in[1], ix = i % p.in[2];
        const double xv = x[(n * p.ic + c) * I + i];
        for (int64_t m = 0; m < mg; ++m)
          for (int64_t k = 0; k < K; ++k) {
            const int64_t kz = k / (p.k[1] * p.k[2]), ky = (k / p.k[2]) % p.k[1], kx = k % p.k[2];
            const int64_t oz = iz * p.stride[0] - p.pad[0] + kz * p.dil[0];
            const int64_t oy = iy * p.stride[1] - p.pad[1] + ky * p.dil[1];
            const int64_t ox = ix * p.stride[2] - p.pad[2] + kx * p.dil[2];
            if (oz < 0 || oz >= p.out[0] || oy < 0 || oy >= p.out[1] || ox < 0 || ox >= p.out[2]) continue;
            const int64_t oc = g * mg + m;
            acc[size_t((n * p.oc + oc) * O + (oz * p.out[1] + oy) * p.out[2] + ox)] +=
                xv * double(w[(c * mg + m) * K + k]);
          }
      }
    }
  for (size_t e = 0; e < acc.size(); ++e) y[e] = float(acc[e]);
}

ConvTransposeFp32::ConvTransposeFp32(const ConvTransposeParams& p, const float* w, const float* b, bool has_bias,
                                     const gemm::SgemmKernel& kernel, int threads)
    : p_(p), kernel_(kernel), threads_(std::max(1, threads)), has_bias_(has_bias) {
  cg_ = p.ic / p.groups, mg_ = p.oc / p.groups, kk_ = prod3(p.k), pix_in_ = prod3(p.in), pix_out_ = prod3(p.out);
  if (w) {
    wt_.resize(size_t(p.groups * mg_ * kk_ * cg_));
    transpose_weights(w, wt_.data());
  }
  if (b) bias_.assign(b, b + p.oc);
}

void ConvTransposeFp32::transpose_weights(const float* w, float* out) const {
  // w[g*Cg + c][m][k] -> out[g][(m, k)][c]
  const int64_t mk = mg_ * kk_;
  for (int64_t g = 0; g < p_.groups; ++g)
    for (int64_t c = 0; c < cg_; ++c)
      for (int64_t r = 0; r < mk; ++r) out[(g * mk + r) * cg_ + c] = w[(g * cg_ + c) * mk + r];
}

size_t ConvTransposeFp32::workspace_bytes() const {
  const int64_t m = mg_ * kk_;
  size_t bytes = align64(size_t(m * pix_in_) * sizeof(float));  // col
  if (wt_.empty()) bytes += align64(size_t(p_.groups * m * cg_) * sizeof(float));
  return bytes + gemm::sgemm_workspace_bytes(kernel_, m, pix_in_, cg_, threads_, false);
}

void ConvTransposeFp32::run(const float* x, const float* w_run, const float* b_run, float* y, void* workspace,
                            Parallel* par) const {
  const int64_t m = mg_ * kk_;
  char* ws = static_cast<char*>(workspace);
  float* col = reinterpret_cast<float*>(ws);
  ws += align64(size_t(m * pix_in_) * sizeof(float));
  const float* wt = wt_.data();
  if (wt_.empty()) {
    float* t = reinterpret_cast<float*>(ws);
    transpose_weights(w_run, t);
    wt = t;
    ws += align64(size_t(p_.groups * m * cg_) * sizeof(float));
  }
  const float* bias = !has_bias_ ? nullptr : bias_.empty() ? b_run : bias_.data();
  const int64_t O0 = p_.out[0], O1 = p_.out[1], O2 = p_.out[2];
  for (int64_t n = 0; n < p_.n; ++n)
    for (int64_t g = 0; g < p_.groups; ++g) {
      gemm::SgemmArgs a;
      a.m = m, a.n = pix_in_, a.k = cg_;
      a.a = wt + g * m * cg_, a.a_rs = cg_, a.a_cs = 1;
      a.b = x + (n * p_.ic + g * cg_) * pix_in_, a.b_rs = pix_in_, a.b_cs = 1;
      a.c = col, a.ldc = pix_in_;
      if (cg_ == 0)
        std::fill(col, col + m * pix_in_, 0.f);
      else
        gemm::sgemm(kernel_, a, ws, par);
      // col2im: output channel planes are independent, so threads split them.
      float* yg = y + (n * p_.oc + g * mg_) * pix_out_;
      parallel_for(par, mg_, [&](int64_t m0, int64_t m1) {
        for (int64_t oc = m0; oc < m1; ++oc) {
          float* plane = yg + oc * pix_out_;
          std::fill(plane, plane + pix_out_, bias ? bias[g * mg_ + oc] : 0.f);
          for (int64_t k = 0; k < kk_; ++k) {
            const int64_t kz = k / (p_.k[1] * p_.k[2]), ky = (k / p_.k[2]) % p_.k[1], kx = k % p_.k[2];
            const float* src = col + (oc * kk_ + k) * pix_in_;
            // Input x lands on ox = ix*stride - pad + kx*dil: the valid ix form one range per dim.
            const int64_t offx = kx * p_.dil[2] - p_.pad[2], sx = p_.stride[2];
            const int64_t ix0 = std::max<int64_t>(0, (-offx + sx - 1) / sx);
            const int64_t ix1 = std::min<int64_t>(p_.in[2], offx >= O2 ? 0 : (O2 - 1 - offx) / sx + 1);
            for (int64_t iz = 0; iz < p_.in[0]; ++iz) {
              const int64_t oz = iz * p_.stride[0] - p_.pad[0] + kz * p_.dil[0];
              if (oz < 0 || oz >= O0) continue;
              for (int64_t iy = 0; iy < p_.in[1]; ++iy) {
                const int64_t oy = iy * p_.stride[1] - p_.pad[1] + ky * p_.dil[1];
                if (oy < 0 || oy >= O1) continue;
                const float* s = src + (iz * p_.in[1] + iy) * p_.in[2];
                float* d = plane + (oz * O1 + oy) * O2 + offx;
                if (sx == 1)
                  for (int64_t ix = ix0; ix < ix1; ++ix) d[ix] += s[ix];
                else
                  for (int64_t ix = ix0; ix < ix1; ++ix) d[ix * sx] += s[ix];
              }
            }
          }
        }
      });
    }
}

}  // namespace octet::kernels::conv

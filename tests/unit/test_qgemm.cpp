// qgemm: every tier this CPU runs against the scalar reference qgemm_ref, exact equality of u8 / int32 outputs
// (and fp32 outputs, which go through the same float operations) over shape sweeps that hit every partial tile,
// k tails, extreme values, zero points, ReLU/Clip, residual add and per-channel scales. Buffers end at a
// PROT_NONE page, so a kernel that reads or writes past the end crashes the test instead of passing by luck.
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/qeltwise/qeltwise.h"
#include "kernels/qgemm/qgemm.h"

using namespace octet::kernels;
using octet::kernels::qgemm::Epilogue;
using octet::kernels::qgemm::OutKind;
using octet::kernels::qgemm::qgemm_kernel;
using octet::kernels::qgemm::qgemm_kernel_for;
using octet::kernels::qgemm::qgemm_kernels;
using octet::kernels::qgemm::max_abs_s8;
using octet::kernels::qgemm::qgemm_ref;
using octet::kernels::qgemm::QGemmKernel;

namespace {

/// `bytes` of memory whose last byte is followed by an inaccessible page.
class Guarded {
 public:
  explicit Guarded(size_t bytes) : bytes_(bytes) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    map_bytes_ = (bytes + page - 1) / page * page + page;
    base_ = static_cast<uint8_t*>(mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(base_ != MAP_FAILED);
    REQUIRE(mprotect(base_ + map_bytes_ - page, page, PROT_NONE) == 0);
    data_ = base_ + map_bytes_ - page - bytes;
  }
  ~Guarded() { munmap(base_, map_bytes_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  uint8_t* data() { return data_; }
  template <class T>
  T* as() { return reinterpret_cast<T*>(data_); }
  size_t size() const { return bytes_; }

 private:
  size_t bytes_, map_bytes_;
  uint8_t* base_;
  uint8_t* data_;
};

/// A two-thread Parallel for the threading test (the engine's pool is not a kernels/ dependency).
class TwoThreads : public Parallel {
 public:
  int threads() const override { return 2; }
  void for_range(int64_t n, const std::function<void(int64_t, int64_t)>& fn) override {
    const int64_t mid = n / 2;
    std::thread t([&] { fn(mid, n); });
    fn(0, mid);
    t.join();
  }
};

enum class Values { random, max_pos, max_neg };  // max_*: a = 255 with w = +127 / -128 (vpmaddubsw's trap)

struct Case {
  size_t m, n, k;
  int32_t za = 0, zy = 0, lo = 0, hi = 255;
  OutKind kind = OutKind::u8;
  bool residual = false;
  Values values = Values::random;
  size_t lda_pad = 0, ldc_pad = 0;
  bool threads = false;
  int max_w = 128;  // weights drawn within [-max_w, min(max_w, 127)]: the kernel's max_abs_weight
  float scale_mul = 1.f;  // multiplies the scales (>= 0.5 on some column: the drivers' guarded rounding)
};

std::string describe(const Case& c) {
  return "m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
         " za=" + std::to_string(c.za) + " zy=" + std::to_string(c.zy) + " clamp=[" + std::to_string(c.lo) + "," +
         std::to_string(c.hi) + "] kind=" + std::to_string(int(c.kind)) + " residual=" + std::to_string(c.residual);
}

/// Runs one case on `kernel` and on the reference; returns the number of differing output elements.
size_t run_case(const QGemmKernel& kernel, Case c, uint32_t seed) {
  c.max_w = std::min(c.max_w, kernel.max_abs_weight);
  std::mt19937 rng(seed);
  const size_t lda = c.k + c.lda_pad, ldc = c.n + c.ldc_pad;
  std::vector<uint8_t> a_host(c.m * lda);
  std::vector<int8_t> w(c.n * c.k);
  std::vector<int32_t> bias(c.n);
  std::vector<float> scale(c.n);
  const int wmax = std::min(c.max_w, 127), wmin = -std::min(c.max_w, 128);
  std::uniform_int_distribution<int> u8(0, 255), s8(wmin, wmax), b(-5000, 5000);
  for (auto& v : a_host) v = uint8_t(c.values == Values::random ? u8(rng) : 255);
  for (auto& v : w) v = int8_t(c.values == Values::random ? s8(rng) : c.values == Values::max_pos ? wmax : wmin);
  for (auto& v : bias) v = b(rng);
  // Scales spread the outputs over the u8 range (some clamp) for any k: |acc| ~ sqrt(k) * 128 * 74.
  std::uniform_real_distribution<float> us(0.3f, 3.f);
  const float base = 1.f / (std::sqrt(float(std::max<size_t>(c.k, 1))) * 128.f * 74.f / 64.f);
  for (auto& v : scale) v = us(rng) * base * c.scale_mul;

  Guarded a(c.m * lda);
  std::memcpy(a.data(), a_host.data(), a_host.size());
  Guarded packed(kernel.packed_bytes(c.n, c.k));
  kernel.pack(c.n, c.k, w.data(), c.k, bias.data(), c.za, packed.data());

  Epilogue ep;
  ep.kind = c.kind;
  ep.scale = scale.data();
  ep.zero_point = c.zy;
  ep.lo = c.lo;
  ep.hi = c.hi;
  std::vector<uint8_t> res_host;
  Guarded res(c.residual ? c.m * ldc : 1);
  if (c.residual) {
    for (size_t i = 0; i < c.m * ldc; ++i) res.data()[i] = uint8_t(u8(rng));
    ep.residual = res.data();
    ep.ld_residual = ldc;
    ep.residual_scale = 0.7f;
    ep.residual_zero_point = 100;
  }
  const size_t esize = c.kind == OutKind::u8 ? 1 : 4;
  Guarded out(c.m * ldc * esize);
  std::vector<uint8_t> ref(c.m * ldc * esize);
  std::memset(out.data(), 0xAB, out.size());
  std::memset(ref.data(), 0xAB, ref.size());  // padding columns must stay untouched in both

  TwoThreads two;
  qgemm::qgemm(kernel, c.m, c.n, c.k, a.data(), lda, packed.data(), ep, out.data(), ldc, c.threads ? &two : nullptr);
  qgemm_ref(c.m, c.n, c.k, a_host.data(), lda, c.za, w.data(), c.k, bias.data(), ep, ref.data(), ldc);

  size_t bad = 0;
  for (size_t i = 0; i < c.m * ldc; ++i)
    if (std::memcmp(out.data() + i * esize, ref.data() + i * esize, esize) != 0) ++bad;
  return bad;
}

std::vector<size_t> n_sweep(int nr) {
  std::vector<size_t> v;
  for (int n = 1; n <= nr + 1; ++n) v.push_back(size_t(n));
  v.push_back(size_t(2 * nr - 1));
  v.push_back(size_t(2 * nr + 3));
  return v;
}

const Isa kTiers[] = {Isa::scalar, Isa::avx2, Isa::avxvnni, Isa::avx512, Isa::avx512vnni};

/// Calls body(kernel) for every kernel of every tier (general and restricted, e.g. the AVX2 7-bit one); tiers
/// this CPU does not run are reported and skipped (never executed).
template <class F>
void for_each_tier(F body) {
  for (Isa tier : kTiers) REQUIRE(qgemm_kernel_for(tier) != nullptr);
  for (const QGemmKernel& k : qgemm_kernels()) {
    const QGemmKernel* kernel = &k;
    const Isa tier = k.isa;
    if (int(tier) > int(detected_isa())) {
      const std::string why = std::string("qgemm tier ") + isa_name(tier) + " (" + kernel->name +
                              ") skipped: not supported by this CPU (detected " + isa_name(detected_isa()) + ")";
      MESSAGE(why);
      continue;
    }
    CAPTURE(kernel->name);
    body(*kernel);
  }
}

}  // namespace

TEST_SUITE("qgemm") {
  TEST_CASE("every partial tile: M x N sweeps at k below, at and above the 4-group") {
    for_each_tier([](const QGemmKernel& kernel) {
      const size_t mr = size_t(kernel.mr);
      const std::vector<size_t> ms = {1, 2, 3, mr - 1, mr, mr + 1, 2 * mr - 1, 2 * mr, 2 * mr + 1, 7, 8, 9, 15, 16, 17};
      uint32_t seed = 1;
      for (size_t k : {size_t(1), size_t(3), size_t(4), size_t(5), size_t(64)})
        for (size_t m : ms)
          for (size_t n : n_sweep(kernel.nr)) {
            Case c{m, n, k};
            c.za = 128;
            c.zy = 120;
            INFO(describe(c));
            REQUIRE(run_case(kernel, c, seed++) == 0);
          }
    });
  }

  TEST_CASE("k sweep: tails and long reductions") {
    for_each_tier([](const QGemmKernel& kernel) {
      uint32_t seed = 100;
      for (size_t k : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 127, 128, 129, 255, 576, 1153})
        for (size_t m : {size_t(1), size_t(kernel.mr), size_t(kernel.mr + 3)})
          for (size_t n : {size_t(kernel.nr), size_t(kernel.nr + 5)}) {
            Case c{m, n, k};
            c.za = 37;
            c.zy = 10;
            c.lda_pad = k % 3;  // odd row strides
            c.ldc_pad = 2;
            INFO(describe(c));
            REQUIRE(run_case(kernel, c, seed++) == 0);
          }
    });
  }

  TEST_CASE("saturation trap: 255 x +127 and 255 x -128 are exact") {
    for_each_tier([](const QGemmKernel& kernel) {
      for (Values v : {Values::max_pos, Values::max_neg})
        for (size_t k : {2, 4, 64, 1024})
          for (OutKind kind : {OutKind::s32, OutKind::u8, OutKind::f32}) {
            Case c{size_t(kernel.mr + 1), size_t(kernel.nr + 1), k};
            c.values = v;
            c.kind = kind;
            c.za = 0;
            INFO(describe(c));
            REQUIRE(run_case(kernel, c, 7) == 0);
          }
    });
  }

  TEST_CASE("u8 outputs saturate where acc * scale passes the int32 range (scales >= 0.5: guarded rounding)") {
    // With every scale < 0.5 the drivers let the micro-kernels round without the 2^20 guard (Epilogue::
    // small_scale); here a = 255 against w = +127 / -128 and scales up to ~2^17 put |acc * scale| far past
    // 2^31, where an unguarded float -> int32 conversion returns INT32_MIN (0 after the packs, not 255).
    for_each_tier([](const QGemmKernel& kernel) {
      uint32_t seed = 500;
      for (Values v : {Values::max_pos, Values::max_neg, Values::random})
        for (size_t k : {size_t(64), size_t(1024)})
          for (float mul : {1e5f, 1e8f}) {
            Case c{size_t(kernel.mr) + 1, size_t(kernel.nr) + 1, k};
            c.values = v;
            c.zy = 5;
            c.scale_mul = mul;
            INFO(describe(c) << " scale x" << mul);
            REQUIRE(run_case(kernel, c, seed++) == 0);
          }
    });
  }

  TEST_CASE("zero points, ReLU, Clip, residual, output kinds") {
    for_each_tier([](const QGemmKernel& kernel) {
      uint32_t seed = 1000;
      const size_t m = size_t(kernel.mr) * 2 + 1;
      // n: a last panel of 3 columns (the driver's padded copy), and of NR / 2 (the half tile where one exists).
      for (size_t n : {size_t(kernel.nr) * 2 + 3, size_t(kernel.nr) + size_t(kernel.nr) / 2}) {
        for (int32_t za : {0, 128, 255})
          for (int32_t zy : {0, 128, 255})
            for (int mode = 0; mode < 4; ++mode)  // plain, ReLU (lo = zy), Clip(lo, hi), residual + ReLU
              for (size_t k : {size_t(7), size_t(72)}) {
                Case c{m, n, k};
                c.za = za;
                c.zy = zy;
                if (mode == 1 || mode == 3) c.lo = zy;
                if (mode == 2) {
                  c.lo = std::min(zy, 20);
                  c.hi = std::max(zy, 200);
                }
                c.residual = mode == 3;
                INFO(describe(c));
                REQUIRE(run_case(kernel, c, seed++) == 0);
              }
        for (OutKind kind : {OutKind::s32, OutKind::f32})
          for (int32_t za : {0, 128, 255}) {
            Case c{m, n, 77};
            c.kind = kind;
            c.za = za;
            c.ldc_pad = 3;
            INFO(describe(c));
            REQUIRE(run_case(kernel, c, seed++) == 0);
          }
      }
    });
  }

  TEST_CASE("long columns of tiles (the strip micro-kernel's pipelined epilogue): row counts x epilogues") {
    // Where a kernel has QGemmKernel::strip_ukernel, a panel's consecutive tiles run as one call that
    // requantizes tile i during tile i + 1's first k-steps: every row count it splits differently (whole 12-row
    // tiles, 1-4 rows left over and joined to the last tile, 5-11 left), k below and above the 6 k-steps the
    // interleave spans and with a k % 4 tail, each epilogue variant (plain u8, zero point + ReLU, residual,
    // scales >= 0.5), one and two threads. Kernels without a strip run the same cases tile by tile.
    for_each_tier([](const QGemmKernel& kernel) {
      uint32_t seed = 5000;
      std::vector<size_t> ms;
      for (size_t m = 12; m <= 30; ++m) ms.push_back(m);
      for (size_t m : {36, 41, 49, 60, 100, 196}) ms.push_back(m);
      for (size_t k : {size_t(20), size_t(24), size_t(64), size_t(67)})
        for (size_t m : ms)
          for (int mode = 0; mode < 5; ++mode) {
            Case c{m, size_t(kernel.nr) * 2, k};
            if (mode == 1) c.zy = 10, c.lo = 10, c.hi = 250;
            if (mode == 2) c.residual = true, c.zy = 5, c.lo = 5;
            if (mode == 3) c.scale_mul = 400.f;  // some scales >= 0.5: the guarded rounding
            if (mode == 4) c.scale_mul = 1e5f, c.values = m % 2 ? Values::max_pos : Values::max_neg;
            c.threads = m % 2 == 1;
            INFO(describe(c) << " mode=" << mode);
            REQUIRE(run_case(kernel, c, seed++) == 0);
          }
    });
  }

  TEST_CASE("two-stage epilogue = the conv's requantization, then qeltwise::add_u8, bit for bit") {
    // The fused form of QConv -> QAdd must give the bits of the two ops run one after the other.
    for_each_tier([](const QGemmKernel& kernel) {
      std::mt19937 rng(77);
      const size_t m = size_t(kernel.mr) * 2 + 3, n = size_t(kernel.nr) + 5, k = 72;
      std::uniform_int_distribution<int> u8(0, 255), s8(-std::min(kernel.max_abs_weight, 128),
                                                         std::min(kernel.max_abs_weight, 127));
      std::vector<uint8_t> a(m * k), r(m * n), two(m * n), fused(m * n), want(m * n);
      std::vector<int8_t> w(n * k);
      std::vector<int32_t> bias(n);
      std::vector<float> scale(n);
      for (auto& v : a) v = uint8_t(u8(rng));
      for (auto& v : r) v = uint8_t(u8(rng));
      for (auto& v : w) v = int8_t(s8(rng));
      for (auto& v : bias) v = u8(rng) * 20 - 2500;
      for (auto& v : scale) v = std::uniform_real_distribution<float>(0.3f, 3.f)(rng) / (128.f * 74.f);
      for (int32_t z1 : {0, 40, 255})
        for (bool relu : {false, true}) {
          CAPTURE(z1);
          CAPTURE(relu);
          const int32_t za = 9, zr = 100, zy = 60;
          const float ra = 0.61f, rb = 0.37f;
          Epilogue conv;  // the conv alone: u8 with zero point z1, full range
          conv.scale = scale.data();
          conv.zero_point = z1;
          qgemm_ref(m, n, k, a.data(), k, za, w.data(), k, bias.data(), conv, two.data(), n);
          qeltwise::add_u8(two.data(), r.data(), m * n, ra, z1, rb, zr, zy, relu ? zy : 0, 255, want.data());
          Epilogue ep;  // fused
          ep.scale = scale.data();
          ep.zero_point = zy;
          ep.lo = relu ? zy : 0;
          ep.residual = r.data();
          ep.ld_residual = n;
          ep.residual_scale = rb;
          ep.residual_zero_point = zr;
          ep.add_scale = ra;
          ep.mid_zero_point = z1;
          qgemm_ref(m, n, k, a.data(), k, za, w.data(), k, bias.data(), ep, fused.data(), n);
          CHECK(fused == want);
          std::vector<uint8_t> packed(kernel.packed_bytes(n, k) + 64);
          kernel.pack(n, k, w.data(), k, bias.data(), za, packed.data());
          std::vector<uint8_t> got(m * n);
          qgemm::qgemm(kernel, m, n, k, a.data(), k, packed.data(), ep, got.data(), n);
          size_t bad = 0;
          for (size_t i = 0; i < got.size(); ++i) bad += got[i] != want[i];
          CHECK_MESSAGE(bad == 0, std::string(kernel.name) << ": " << bad << " of " << got.size() << " differ");
        }
    });
  }

  TEST_CASE("two threads give the same bits") {
    for_each_tier([](const QGemmKernel& kernel) {
      for (size_t m : {size_t(1), size_t(5), size_t(49), size_t(200)}) {
        Case c{m, size_t(kernel.nr) * 3 + 1, 67};
        c.za = 3;
        c.zy = 5;
        c.residual = true;
        c.threads = true;
        INFO(describe(c));
        REQUIRE(run_case(kernel, c, 9) == 0);
      }
    });
  }

  TEST_CASE("the 7-bit AVX2 kernel: chosen only for |w| <= 64, and wrong beyond (why the dispatch checks)") {
    const QGemmKernel* w7 = nullptr;
    for (const QGemmKernel& k : qgemm_kernels())
      if (k.max_abs_weight < 128) w7 = &k;
    REQUIRE(w7 != nullptr);
    CHECK(w7->isa == Isa::avx2);
    CHECK(w7->max_abs_weight == 64);
    if (int(detected_isa()) < int(Isa::avx2) || int(max_isa()) < int(Isa::avx2)) return;
    CHECK(&qgemm_kernel(Isa::avx2, 64) == w7);
    CHECK(&qgemm_kernel(Isa::avx2, 65) == qgemm_kernel_for(Isa::avx2));
    CHECK(&qgemm_kernel(Isa::avx2) == qgemm_kernel_for(Isa::avx2));
    // 255 x 127 + 255 x 127 = 64770 saturates vpmaddubsw's int16 pair sum: the kernel must not see such weights.
    Case c{size_t(w7->mr), size_t(w7->nr), 64};
    c.values = Values::max_pos;
    c.kind = OutKind::s32;
    Case trap = c;
    trap.max_w = 128;
    QGemmKernel unrestricted = *w7;
    unrestricted.max_abs_weight = 128;  // pretend, to show the failure the dispatch prevents
    CHECK(run_case(unrestricted, trap, 7) > 0);
    CHECK(run_case(*w7, c, 7) == 0);  // 64 is exact
    const int8_t w[] = {3, -64, 64, -65};
    CHECK(max_abs_s8(w, 3) == 64);
    CHECK(max_abs_s8(w, 4) == 65);
  }

  TEST_CASE("dispatch honours the limit and the CPU") {
    CHECK(qgemm_kernel(Isa::scalar).isa == Isa::scalar);
    CHECK(int(qgemm_kernel().isa) <= int(max_isa()));
    CHECK(int(qgemm_kernel(Isa::avx2).isa) <= int(Isa::avx2));
    if (int(detected_isa()) >= int(Isa::avx2) && int(max_isa()) >= int(Isa::avx2))
      CHECK(qgemm_kernel(Isa::avx2).isa == Isa::avx2);
  }

  TEST_CASE("bad epilogue parameters are rejected with a message") {
    const QGemmKernel& kernel = qgemm_kernel(Isa::scalar);
    float scale[1] = {1.f};
    uint8_t a[1] = {0}, c[1];
    std::vector<uint8_t> packed(kernel.packed_bytes(1, 1));
    Epilogue ep;
    ep.scale = scale;
    ep.hi = 300;
    CHECK_THROWS_WITH_AS(qgemm::qgemm(kernel, 1, 1, 1, a, 1, packed.data(), ep, c, 1), doctest::Contains("[0, 255]"),
                         std::invalid_argument);
    ep.hi = 255;
    ep.scale = nullptr;
    CHECK_THROWS_AS(qgemm::qgemm(kernel, 1, 1, 1, a, 1, packed.data(), ep, c, 1), std::invalid_argument);
  }
}

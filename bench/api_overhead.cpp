// octet-bench-api MODEL BATCH CALLS: the time of one octet::Session::run call through the public C++ API
// (include/octet/octet.hpp, linked to liboctet.so), the baseline bench/python_overhead.py subtracts from the same
// call made from Python. The input is the model's first input with its batch dim set to BATCH, filled with a
// fixed pattern; outputs are allocated by the library, as the Python binding has them. Prints the median, 10th
// and 90th percentile of CALLS timed calls in microseconds: `median_us p10_us p90_us`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "octet/octet.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: octet-bench-api MODEL BATCH CALLS\n");
    return 2;
  }
  try {
    octet::Session s = octet::Session::load(argv[1], {.threads = 1});
    const int64_t batch = std::atoll(argv[2]);
    const int calls = std::atoi(argv[3]);
    std::vector<int64_t> shape = s.input(0).shape;
    if (!shape.empty() && shape[0] < 0) shape[0] = batch;
    size_t n = 1;
    for (int64_t d : shape) n *= size_t(d);
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = float(i % 17) / 17.0f - 0.5f;
    const octet::TensorView in(std::span<const float>(x), shape);
    for (int i = 0; i < std::max(10, calls / 10); ++i) s.run({in});  // compile, warm caches
    std::vector<double> us(static_cast<size_t>(calls), 0.0);
    for (int i = 0; i < calls; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<octet::Tensor> out = s.run({in});
      const auto t1 = std::chrono::steady_clock::now();
      us[size_t(i)] = std::chrono::duration<double, std::micro>(t1 - t0).count();
    }
    std::sort(us.begin(), us.end());
    auto at = [&](double q) { return us[size_t(q * double(us.size() - 1))]; };
    std::printf("%.3f %.3f %.3f\n", at(0.5), at(0.1), at(0.9));
  } catch (const octet::Error& e) {
    std::fprintf(stderr, "octet-bench-api: %s\n", e.what());
    return 1;
  }
  return 0;
}

// The one main() of octet-bench-kernels (every bench/kernels/*.cpp registers its benchmarks into it).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();

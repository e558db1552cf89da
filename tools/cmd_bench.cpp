// octet bench MODEL: latency and throughput over generated input.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>
#include <thread>
#include <cstdio>

#include "engine/plan.h"
#include "engine/profile.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest-rank on the sorted sample, interpolated between neighbours.
  double pos = p / 100.0 * double(v.size() - 1);
  size_t lo = size_t(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  Args a(argc, argv, {"--threads", "--shape", "--batch", "--seconds", "--iterations", "--warmup", "--profile",
                                 "--scenario", "--qps", "--latency-ms"}, {"--json"});
  if (a.positional().size() != 1) throw UsageError("bench needs exactly one MODEL");
  const double seconds = a.get_double("--seconds", 5.0);
  const int iterations = a.get_int("--iterations", 0);
  const int warmup = a.get_int("--warmup", 3);
  if (seconds <= 0 && iterations <= 0) throw UsageError("--seconds or --iterations must be positive");
  // singlestream: one query after another, latency percentiles. offline: the same loop, read as throughput of
  // --batch images per run. server: queries arrive as a Poisson process at --qps and wait in a queue for the
  // (single) session; a query's latency is completion - arrival, and `met` says whether p99 <= --latency-ms.
  const std::string scenario = a.get("--scenario", "singlestream");
  if (scenario != "singlestream" && scenario != "offline" && scenario != "server")
    throw UsageError("--scenario must be singlestream, offline or server, got '" + scenario + "'");
  const double qps = a.get_double("--qps", 0), latency_bound = a.get_double("--latency-ms", 100);
  if (scenario == "server" && qps <= 0) throw UsageError("--scenario server needs --qps > 0");

  // create_ms: wall time from here until the first run can start (load, passes, packing, planning, inputs);
  // create_cpu_ms: the process CPU time over the same span (all threads), which a busy machine inflates less.
  auto t0 = std::chrono::steady_clock::now();
  const double create_cpu0 = process_cpu_ms();
  SessionOptions opt = session_options(a);
  auto session = Session::load(a.positional()[0], opt);
  std::vector<Shape> shapes;
  for (size_t i = 0; i < session->num_inputs(); ++i) shapes.push_back(session->default_input_shape(i));
  int batch = shapes.empty() || shapes[0].empty() ? 1 : int(shapes[0][0]);
  if (a.has("--batch")) {
    batch = a.get_int("--batch", 1);
    if (batch < 1) throw UsageError("--batch must be >= 1");
    const Value& in0 = session->input(0);
    if (in0.has_shape && !in0.dims.empty() && in0.dims[0].known() && in0.dims[0].value != batch)
      throw Error(a.positional()[0] + ": input '" + in0.name + "' has a fixed batch of " +
                  std::to_string(in0.dims[0].value) + ", --batch " + std::to_string(batch) + " does not fit");
    for (Shape& s : shapes)
      if (!s.empty()) s[0] = batch;
  }
  std::vector<Tensor> inputs = generate_inputs(*session, shapes);
  std::vector<TensorView> views;
  for (const Tensor& t : inputs) views.push_back(t.view());
  std::shared_ptr<Plan> plan_ref = session->plan_for(shapes, views);
  Plan& plan = *plan_ref;
  const double create_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const double create_cpu_ms = process_cpu_ms() - create_cpu0;
  for (int i = 0; i < warmup; ++i) plan.run(views);

  std::unique_ptr<Profiler> profiler;
  std::function<void(const StepTiming&)> on_step;
  if (a.has("--profile")) {
    profiler = std::make_unique<Profiler>(plan);
    on_step = [&](const StepTiming& t) { profiler->on_step(t); };
  }
  std::vector<double> ms, cpu_ms;
  auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> gap_s(qps > 0 ? qps : 1.0);
  auto next_arrival = start;
  for (;;) {
    if (scenario == "server") {
      // The query arrives at next_arrival; if the session is still busy it waits (its latency grows).
      next_arrival += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(gap_s(rng)));
      std::this_thread::sleep_until(next_arrival);
    }
    auto s = scenario == "server" ? next_arrival : std::chrono::steady_clock::now();
    const double c0 = process_cpu_ms();
    plan.run(views, on_step);
    cpu_ms.push_back(process_cpu_ms() - c0);
    auto e = std::chrono::steady_clock::now();
    if (profiler) profiler->end_run();
    ms.push_back(std::chrono::duration<double, std::milli>(e - s).count());
    double elapsed = std::chrono::duration<double>(e - start).count();
    if (iterations > 0 ? int(ms.size()) >= iterations : (elapsed >= seconds && ms.size() >= 5)) break;
  }
  double total_s = 0;
  for (double m : ms) total_s += m / 1000.0;
  // Throughput over the measured wall span for server (includes idle gaps), over busy time otherwise.
  if (scenario == "server")
    total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double p50 = percentile(ms, 50), p90 = percentile(ms, 90), p99 = percentile(ms, 99);
  const double ips = double(batch) * double(ms.size()) / total_s;

  std::printf("model        %s\n", a.positional()[0].c_str());
  std::printf("threads      %d   batch %d   isa %s\n", plan.threads(), batch, kernels::isa_name(opt.max_isa));
  std::printf("runs         %zu\n", ms.size());
  std::printf("latency ms   p50 %.3f   p90 %.3f   p99 %.3f   min %.3f\n", p50, p90, p99,
              *std::min_element(ms.begin(), ms.end()));
  const double cpu_p50 = percentile(cpu_ms, 50);
  std::printf("cpu ms/run   p50 %.3f (process CPU time: less sensitive to a busy machine than wall time)\n", cpu_p50);
  std::printf("images/s     %.1f\n", ips);
  std::printf("create ms    %.1f (cpu %.1f)   peak RSS %.1f MB\n", create_ms, create_cpu_ms, peak_rss_mb());
  const bool met = p99 <= latency_bound;
  if (scenario == "server")
    std::printf("server       qps %.2f offered, p99 %.3f ms vs bound %.1f ms: %s\n", qps, p99, latency_bound,
                met ? "met" : "NOT met");
  if (profiler) {
    profiler->write_trace(a.get("--profile"));
    std::printf("\nper-layer profile (trace written to %s):\n", a.get("--profile").c_str());
    profiler->print_table(stdout);
  }
  if (a.has("--json")) {
    std::printf(
        "{\"model\": %s, \"scenario\": \"%s\", \"p50_ms\": %s, \"p90_ms\": %s, \"p99_ms\": %s, "
        "\"images_per_s\": %s, \"threads\": %d, \"batch\": %d, \"runs\": %zu, \"create_ms\": %s, "
        "\"peak_rss_mb\": %s, \"cpu_p50_ms\": %s, \"isa\": \"%s\", \"create_cpu_ms\": %s%s}\n",
        json_string(a.positional()[0]).c_str(), scenario.c_str(), json_number(p50).c_str(), json_number(p90).c_str(),
        json_number(p99).c_str(), json_number(ips).c_str(), plan.threads(), batch, ms.size(),
        json_number(create_ms).c_str(), json_number(peak_rss_mb()).c_str(), json_number(cpu_p50).c_str(),
        kernels::isa_name(opt.max_isa), json_number(create_cpu_ms).c_str(),
        scenario == "server" ? (", \"qps\": " + json_number(qps) + ", \"latency_ms\": " + json_number(latency_bound) +
                                ", \"met\": " + (met ? "true" : "false")).c_str()
                             : "");
  }
  return 0;
}

}  // namespace octet::tools

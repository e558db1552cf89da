// One session run from many threads at once, through the C API: every concurrent run must give the bytes a
// single-threaded run gives (each run has its own arena; the shared worker pool is taken by one run at a time and
// the others run inline, which must not change a single bit).
//
// Two models: the demo model (its Conv runs on oneDNN, which uses libgomp), and a Conv-free model whose every op
// runs on octet's own kernels. scripts/tsan.sh runs only the second under ThreadSanitizer: TSan cannot see
// libgomp's synchronisation and would report races inside oneDNN that are not there.
#include <atomic>
#include <mutex>
#include <thread>

#include "embed_test_util.h"

using namespace embed_test;

namespace {

constexpr int kThreads = 8;
constexpr int kRunsPerThread = 200;

struct Case {
  std::vector<float> input;     // [1, C, 28, 28]
  std::vector<float> expected;  // the single-threaded run's output
};

// Runs a [1, 1, 28, 28] input into `out` (the caller's buffer). No doctest assertion here: it runs on worker
// threads, where a failed REQUIRE could not unwind the test. Returns the error message, "" on success.
std::string run_into(octet_session* s, const std::vector<float>& input, std::vector<float>* out) {
  octet_tensor in{};
  in.dtype = OCTET_DTYPE_FLOAT32;
  in.rank = 4;
  in.shape[0] = 1, in.shape[1] = 1, in.shape[2] = 28, in.shape[3] = 28;
  in.data = const_cast<float*>(input.data());
  in.bytes = input.size() * sizeof(float);
  std::fill(out->begin(), out->end(), -1.0f);
  octet_tensor o{};
  o.data = out->data();
  o.bytes = out->size() * sizeof(float);
  octet_status* st = octet_session_run(s, &in, 1, &o, 1);
  std::string error = octet_status_message(st);
  if (st && error.empty()) error = "failed without a message";
  octet_status_free(st);
  return error;
}

std::vector<float> run_once(octet_session* s, const std::vector<float>& input, size_t outputs) {
  std::vector<float> out(outputs);
  const std::string error = run_into(s, input, &out);
  REQUIRE_MESSAGE(error.empty(), error);
  return out;
}

// Decodes each sample with the session's image helper and records the single-threaded output.
std::vector<Case> reference_runs(octet_session* s, size_t outputs) {
  std::vector<Case> cases;
  for (const Sample& sample : samples()) {
    Case c;
    c.input.resize(28 * 28);
    octet_tensor img{};
    img.data = c.input.data();
    img.bytes = c.input.size() * sizeof(float);
    require_ok(octet_image_load(s, 0, sample.path.c_str(), &img));
    c.expected = run_once(s, c.input, outputs);
    cases.push_back(std::move(c));
  }
  return cases;
}

// kThreads threads x kRunsPerThread runs, thread t running case (t + r) % n; returns the runs whose bytes differ
// from the single-threaded result (and the first message of a failed run, if any).
int concurrent_mismatches(octet_session* s, const std::vector<Case>& cases, size_t outputs, std::string* error) {
  std::atomic<int> mismatches{0};
  std::mutex error_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> out(outputs);
      for (int r = 0; r < kRunsPerThread; ++r) {
        const Case& c = cases[size_t(t + r) % cases.size()];
        if (std::string e = run_into(s, c.input, &out); !e.empty()) {
          std::lock_guard<std::mutex> l(error_mu);
          if (error->empty()) *error = e;
          ++mismatches;
        } else if (std::memcmp(out.data(), c.expected.data(), outputs * sizeof(float)) != 0) {
          ++mismatches;
        }
      }
    });
  for (auto& th : threads) th.join();
  return mismatches.load();
}

}  // namespace

TEST_SUITE("concurrency") {
  TEST_CASE("demo model (Conv on oneDNN): 8 threads x 200 runs are bit-identical to a single-threaded run") {
    octet_session* s = nullptr;
    require_ok(octet_session_create(kDemoModel.c_str(), nullptr, &s));
    const std::vector<Case> cases = reference_runs(s, 10);
    // The single-threaded results themselves against ONNX Runtime's (tests/data/demo, same images in name order).
    for (size_t i = 0; i < cases.size(); ++i) {
      FloatTensor want = read_pb(kSource + "/tests/data/demo/output_" + std::to_string(i) + ".pb");
      REQUIRE(want.data.size() == 10);
      for (size_t k = 0; k < 10; ++k) CHECK(cases[i].expected[k] == doctest::Approx(want.data[k]).epsilon(1e-4));
    }
    std::string error;
    const int bad = concurrent_mismatches(s, cases, 10, &error);
    CHECK_MESSAGE(bad == 0, bad << " of " << kThreads * kRunsPerThread << " runs differ; " << error);
    octet_session_destroy(s);
  }

  TEST_CASE("hand-written kernels only (no oneDNN): 8 threads x 200 runs are bit-identical to a single-threaded run") {
    const Mlp mlp;
    octet_options* opt = nullptr;
    require_ok(octet_options_create(&opt));
    require_ok(octet_options_set_threads(opt, 2));  // a worker pool that concurrent runs contend for
    octet_session* s = nullptr;
    require_ok(octet_session_create_from_memory(mlp.onnx.data(), mlp.onnx.size(), opt, &s));
    octet_options_destroy(opt);
    const std::vector<Case> cases = reference_runs(s, Mlp::kOut);
    for (const Case& c : cases) {
      const std::vector<double> want = mlp.reference(c.input.data());
      for (int k = 0; k < Mlp::kOut; ++k) CHECK(c.expected[size_t(k)] == doctest::Approx(want[size_t(k)]).epsilon(1e-4));
    }
    std::string error;
    const int bad = concurrent_mismatches(s, cases, Mlp::kOut, &error);
    CHECK_MESSAGE(bad == 0, bad << " of " << kThreads * kRunsPerThread << " runs differ; " << error);
    octet_session_destroy(s);
  }

  TEST_CASE("several sessions run at once in one process, each bit-identical to its single-threaded run") {
    const Mlp mlp;
    std::vector<octet_session*> sessions(3, nullptr);
    for (octet_session*& s : sessions) require_ok(octet_session_create_from_memory(mlp.onnx.data(), mlp.onnx.size(),
                                                                                    nullptr, &s));
    const std::vector<Case> cases = reference_runs(sessions[0], Mlp::kOut);
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
      threads.emplace_back([&, t] {
        octet_session* s = sessions[size_t(t) % sessions.size()];
        for (int r = 0; r < 50; ++r) {
          const Case& c = cases[size_t(t * 3 + r) % cases.size()];
          std::vector<float> out(Mlp::kOut);
          if (!run_into(s, c.input, &out).empty() ||
              std::memcmp(out.data(), c.expected.data(), out.size() * sizeof(float)) != 0)
            ++bad;
        }
      });
    for (auto& th : threads) th.join();
    CHECK(bad == 0);
    for (octet_session* s : sessions) octet_session_destroy(s);
  }
}

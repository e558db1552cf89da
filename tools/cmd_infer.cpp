// octet infer MODEL IMAGE...: classify JPEG/PNG images and print the top-K classes of each.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/classify.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

namespace {

// Images per run when the model's batch is free: enough to amortise the per-run overhead, few enough to keep
// the input small (16 x 3 x 224 x 224 floats = 9.6 MB).
constexpr int64_t kMaxBatch = 16;

struct Result {
  std::string image;
  std::vector<int> top;
  std::vector<float> prob;  // of the whole row
};

void print_text(const std::vector<Result>& results, const std::vector<std::string>& labels) {
  for (const Result& r : results) {
    std::printf("%s\n", r.image.c_str());
    for (int i : r.top) std::printf("%s  %.4f\n", label_name(labels, i).c_str(), double(r.prob[size_t(i)]));
  }
}

void print_json(const std::vector<Result>& results, const std::vector<std::string>& labels) {
  std::string s = "[";
  for (size_t n = 0; n < results.size(); ++n) {
    const Result& r = results[n];
    s += n ? ",\n " : "";
    s += "{\"image\": " + json_string(r.image) + ", \"top\": [";
    for (size_t j = 0; j < r.top.size(); ++j) {
      int i = r.top[j];
      s += j ? ", " : "";
      s += "{\"index\": " + std::to_string(i) + ", \"label\": " + json_string(label_name(labels, i)) +
           ", \"prob\": " + json_number(r.prob[size_t(i)]) + "}";
    }
    s += "]}";
  }
  s += "]\n";
  std::fputs(s.c_str(), stdout);
}

}  // namespace

int cmd_infer(int argc, char** argv) {
  std::set<std::string> with_value = {"--top", "--labels"};
  with_value.insert(kSessionFlags.begin(), kSessionFlags.end());
  with_value.insert(kImageFlags.begin(), kImageFlags.end());
  Args a(argc, argv, with_value, {"--json", kNoCropFlag});
  if (a.positional().size() < 2) throw UsageError("infer needs a MODEL and at least one IMAGE");
  const int k = a.get_int("--top", 5);
  if (k < 1) throw UsageError("--top must be >= 1");
  const std::string model_path = a.positional()[0];
  const std::vector<std::string> images(a.positional().begin() + 1, a.positional().end());

  std::unique_ptr<Session> session = open_session(model_path, a);
  const ImageInput in = image_input(*session);
  const ImageOptions opt = image_options(a, session->model());
  check_image_options(opt, in, a, session->model());
  const std::vector<std::string> labels = class_labels(a, session->model());

  const int64_t batch = in.fixed_batch > 0 ? in.fixed_batch : std::min<int64_t>(kMaxBatch, int64_t(images.size()));
  std::vector<Result> results;
  for (size_t first = 0; first < images.size(); first += size_t(batch)) {
    std::vector<std::string> chunk(images.begin() + long(first),
                                   images.begin() + long(std::min(images.size(), first + size_t(batch))));
    // A free batch runs exactly the images; a fixed one is padded with zero images whose rows are ignored.
    Tensor x = load_batch(chunk, in, opt, in.fixed_batch > 0 ? batch : int64_t(chunk.size()), session->threads());
    std::vector<std::vector<float>> rows = classify(*session, x);
    for (size_t i = 0; i < chunk.size(); ++i) {
      Result r{chunk[i], {}, to_probabilities(rows[i])};
      r.top = top_k(r.prob, k);
      results.push_back(std::move(r));
    }
  }
  if (!labels.empty() && !results.empty() && labels.size() != results[0].prob.size())
    std::fprintf(stderr, "octet infer: warning: %zu labels for %zu classes\n", labels.size(),
                 results[0].prob.size());
  if (a.has("--json")) print_json(results, labels);
  else print_text(results, labels);
  return 0;
}

}  // namespace octet::tools

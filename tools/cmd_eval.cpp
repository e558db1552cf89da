// octet eval MODEL DATASET_DIR: top-1/top-5 accuracy over an image folder, one subfolder per class (sorted
// subfolder names give the label indices, as torchvision's ImageFolder), and the throughput of decode + run.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "graph/error.h"
#include "tools/classify.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

namespace fs = std::filesystem;

namespace {

struct Sample {
  std::string path;
  int label = 0;
};

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// The dataset in class-interleaved order (class 0's first image, class 1's first, ..., class 0's second, ...),
// so that --limit N takes a sample spread over all classes instead of the first classes only.
std::vector<Sample> list_dataset(const std::string& dir, size_t* num_classes) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a directory (expected one subfolder per class)");
  std::vector<fs::path> classes;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) classes.push_back(e.path());
  if (ec) throw Error(dir + ": cannot list: " + ec.message());
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) throw Error(dir + ": no class subfolders");
  std::vector<std::vector<std::string>> files(classes.size());
  for (size_t c = 0; c < classes.size(); ++c) {
    for (const fs::directory_entry& e : fs::directory_iterator(classes[c], ec))
      if (e.is_regular_file() && is_image_file(e.path())) files[c].push_back(e.path().string());
    if (ec) throw Error(classes[c].string() + ": cannot list: " + ec.message());
    std::sort(files[c].begin(), files[c].end());
  }
  std::vector<Sample> out;
  for (size_t i = 0;; ++i) {
    bool any = false;
    for (size_t c = 0; c < classes.size(); ++c)
      if (i < files[c].size()) out.push_back({files[c][i], int(c)}), any = true;
    if (!any) break;
  }
  if (out.empty()) throw Error(dir + ": no .jpg/.jpeg/.png files in its class subfolders");
  *num_classes = classes.size();
  return out;
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  std::set<std::string> with_value = {"--batch", "--limit"};
  with_value.insert(kSessionFlags.begin(), kSessionFlags.end());
  with_value.insert(kImageFlags.begin(), kImageFlags.end());
  Args a(argc, argv, with_value, {"--json", kNoCropFlag});
  if (a.positional().size() != 2) throw UsageError("eval needs a MODEL and a DATASET_DIR");
  const int limit = a.get_int("--limit", 0);
  if (limit < 0) throw UsageError("--limit must be >= 0");
  int batch_flag = a.get_int("--batch", 0);
  if (a.has("--batch") && batch_flag < 1) throw UsageError("--batch must be >= 1");

  std::unique_ptr<Session> session = open_session(a.positional()[0], a);
  const ImageInput in = image_input(*session);
  const ImageOptions opt = image_options(a, session->model());
  check_image_options(opt, in, a, session->model());
  size_t num_classes = 0;
  std::vector<Sample> samples = list_dataset(a.positional()[1], &num_classes);
  if (limit > 0 && size_t(limit) < samples.size()) samples.resize(size_t(limit));

  int64_t batch = 8;  // 8 x 3 x 224 x 224 floats = 4.8 MB per batch in flight
  if (in.fixed_batch > 0) {
    if (batch_flag > 0 && batch_flag != in.fixed_batch)
      throw Error(a.positional()[0] + ": input '" + in.name + "' has a fixed batch of " +
                  std::to_string(in.fixed_batch) + ", --batch " + std::to_string(batch_flag) + " does not fit");
    batch = in.fixed_batch;
  } else if (batch_flag > 0) {
    batch = batch_flag;
  }

  // Throughput covers decoding and running (and compiling the plan on the first batch), not the model load.
  const auto t0 = std::chrono::steady_clock::now();
  // Decode batch i+1 on other threads while batch i runs: at most two batches of pixels are alive.
  const int threads = session->threads();
  auto load = [&](size_t first) {
    std::vector<std::string> paths;
    for (size_t i = first; i < std::min(samples.size(), first + size_t(batch)); ++i) paths.push_back(samples[i].path);
    return load_batch(paths, in, opt, in.fixed_batch > 0 ? batch : int64_t(paths.size()), threads);
  };
  size_t top1 = 0, top5 = 0;
  size_t model_classes = 0;
  std::future<Tensor> next = std::async(std::launch::async, load, size_t(0));
  for (size_t first = 0; first < samples.size(); first += size_t(batch)) {
    Tensor x = next.get();
    if (first + size_t(batch) < samples.size()) next = std::async(std::launch::async, load, first + size_t(batch));
    std::vector<std::vector<float>> rows = classify(*session, x);
    for (size_t i = first; i < std::min(samples.size(), first + size_t(batch)); ++i) {
      const std::vector<float>& row = rows[i - first];
      model_classes = row.size();
      std::vector<int> top = top_k(row, 5);
      if (!top.empty() && top[0] == samples[i].label) ++top1;
      if (std::find(top.begin(), top.end(), samples[i].label) != top.end()) ++top5;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (model_classes < num_classes)
    std::fprintf(stderr, "octet eval: warning: %zu class folders but the model scores %zu classes\n", num_classes,
                 model_classes);

  const double n = double(samples.size());
  const double p1 = 100.0 * double(top1) / n, p5 = 100.0 * double(top5) / n, ips = n / seconds;
  std::printf("model      %s\n", a.positional()[0].c_str());
  std::printf("dataset    %s (%zu classes)\n", a.positional()[1].c_str(), num_classes);
  std::printf("top-1      %.2f%%\n", p1);
  std::printf("top-5      %.2f%%\n", p5);
  std::printf("count      %zu\n", samples.size());
  std::printf("images/s   %.1f   (decode + run, batch %lld, %d threads)\n", ips, (long long)batch, threads);
  if (a.has("--json"))
    std::printf("{\"top1\": %.2f, \"top5\": %.2f, \"count\": %zu, \"images_per_s\": %s, \"batch\": %lld, "
                "\"threads\": %d}\n",
                p1, p5, samples.size(), json_number(ips).c_str(), (long long)batch, threads);
  return 0;
}

}  // namespace octet::tools

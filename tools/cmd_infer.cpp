// octet infer MODEL IMAGE...: run JPEG/PNG images through a model and report what its outputs say: the top-K
// classes of a classifier, the class shares (and a colour mask) of a segmentation map, or statistics of any
// other outputs (tools/infer_outputs.h says which is which).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "graph/error.h"
#include "graph/tensor_proto.h"
#include "tools/classify.h"
#include "tools/commands.h"
#include "tools/common.h"
#include "tools/infer_files.h"
#include "tools/infer_print.h"

namespace octet::tools {

namespace {

// Images per run when the model's batch is free: enough to amortise the per-run overhead, few enough to keep
// the input small (16 x 3 x 224 x 224 floats = 9.6 MB). Images are also decoded this many at a time.
constexpr int64_t kMaxBatch = 16;

struct InferFlags {
  int top = 5;
  bool top_given = false;
  std::string mask;      // --mask FILE.png, empty when not given
  std::string save;      // --save DIR, empty when not given
  bool several = false;  // more than one image: mask and saved file names get the image's stem
};

// With several images every image writes its own files, named by its stem: two images with the same stem
// would overwrite each other's.
void check_stems(const std::vector<std::string>& images, const InferFlags& f) {
  if (!f.several || (f.mask.empty() && f.save.empty())) return;
  std::map<std::string, std::string> seen;
  for (const std::string& img : images) {
    auto [it, fresh] = seen.emplace(image_stem(img), img);
    if (!fresh)
      throw UsageError("images '" + it->second + "' and '" + img + "' have the same stem '" + it->first +
                       "', so their " + (f.mask.empty() ? "--save" : "--mask") + " files would have the same name");
  }
}

// "output 'y' is float32 1x10" / "the model has 2 outputs ('a' float32 1x4, 'b' int64 1x7)".
std::string describe_outputs(const Session& s, const std::vector<Tensor>& outs) {
  auto one = [&](size_t i, const char* is) {
    return "'" + s.output(i).name + "'" + is + dtype_name(outs[i].dtype()) + " " + shape_str(outs[i].shape());
  };
  if (outs.size() == 1) return "output " + one(0, " is ");
  std::string r = "the model has " + std::to_string(outs.size()) + " outputs (";
  for (size_t i = 0; i < outs.size(); ++i) r += (i ? ", " : "") + one(i, " ");
  return r + ")";
}

// Images [i, j) of `d` (one shape) as one [batch, C, H, W] tensor; rows past them stay zero (the padding of a
// model with a fixed batch).
Tensor stack(const std::vector<DecodedImage>& d, size_t i, size_t j, int64_t batch) {
  Shape s = d[i].x.shape();
  s[0] = batch;
  Tensor t(DType::f32, s);
  for (size_t k = i; k < j; ++k)
    std::memcpy(static_cast<char*>(t.data()) + (k - i) * d[k].x.bytes(), d[k].x.data(), d[k].x.bytes());
  return t;
}

void fill_classes(ImageResult& r, const Tensor& scores, const InferFlags& f) {
  r.prob = to_probabilities(std::vector<float>(scores.as<float>(), scores.as<float>() + scores.numel()));
  r.top = top_k(r.prob, f.top);
}

void fill_segmentation(ImageResult& r, const Session& s, const DecodedImage& img, const Tensor& scores,
                       const InferFlags& f) {
  r.map_output = s.output(0).name;
  r.map_shape = scores.shape();
  const SegmentationMap map = argmax_map(scores);
  r.shares = class_shares(map);
  if (f.top_given && r.shares.size() > size_t(f.top)) r.shares.resize(size_t(f.top));
  if (f.mask.empty()) return;
  r.mask = f.several ? with_image_stem(f.mask, img.path) : f.mask;
  write_png(r.mask, mask_rgb(map, img.frame), img.frame.original_w, img.frame.original_h);
}

void fill_tensors(ImageResult& r, const Session& s, const std::vector<Tensor>& outs) {
  for (size_t i = 0; i < outs.size(); ++i)
    r.outputs.push_back({s.output(i).name, outs[i].dtype(), outs[i].shape(), tensor_stats(outs[i])});
}

void save_outputs(ImageResult& r, const Session& s, const std::vector<Tensor>& outs, const InferFlags& f) {
  std::vector<std::string> names;
  for (size_t i = 0; i < outs.size(); ++i) names.push_back(s.output(i).name);
  const std::vector<std::string> files = output_file_names(f.save, names);
  for (size_t i = 0; i < outs.size(); ++i) {
    const std::string file = f.several ? with_image_stem(files[i], r.image) : files[i];
    write_tensor_pb(file, outs[i].view(), names[i]);
    r.saved.emplace_back(names[i], file);
  }
}

// The result of one image from its part of the outputs; writes its mask and saved outputs.
ImageResult image_result(const Session& s, const DecodedImage& img, const std::vector<Tensor>& outs, OutputKind kind,
                         const InferFlags& f) {
  if (!f.mask.empty() && kind != OutputKind::segmentation)
    throw Error(s.model().path +
                ": --mask needs a segmentation output (one float32 [N, C, H, W], C >= 2, H and W > 1); " +
                describe_outputs(s, outs) + (kind == OutputKind::classes ? " (class scores)" : ""));
  ImageResult r;
  r.image = img.path;
  r.kind = kind;
  if (kind == OutputKind::classes)
    fill_classes(r, outs[0], f);
  else if (kind == OutputKind::segmentation)
    fill_segmentation(r, s, img, outs[0], f);
  else
    fill_tensors(r, s, outs);
  if (!f.save.empty()) save_outputs(r, s, outs, f);
  return r;
}

// Runs every image: decoded kMaxBatch at a time, batched while consecutive images have the same size. The first
// run takes one image (when the batch is free) and tells the outputs' kind: class scores and maps batch, other
// tensors (whose first dim need not be the batch) run one image at a time.
std::vector<ImageResult> run_images(Session& s, const std::vector<std::string>& images, const ImageInput& in,
                                    const ImageOptions& opt, const InferFlags& f) {
  std::vector<std::string> names;
  for (size_t i = 0; i < s.num_outputs(); ++i) names.push_back(s.output(i).name);
  const size_t group = size_t(std::max(kMaxBatch, in.fixed_batch));
  std::vector<ImageResult> results;
  bool first = true, batchable = false;
  for (size_t g = 0; g < images.size(); g += group) {
    const std::vector<std::string> paths(images.begin() + long(g),
                                         images.begin() + long(std::min(images.size(), g + group)));
    const std::vector<DecodedImage> d = decode_images(paths, in, opt, s.threads());
    for (size_t i = 0; i < d.size();) {
      const int64_t limit = in.fixed_batch > 0 ? in.fixed_batch : batchable ? kMaxBatch : 1;
      size_t j = i + 1;
      while (j < d.size() && int64_t(j - i) < limit && d[j].x.shape() == d[i].x.shape()) ++j;
      const int64_t batch = in.fixed_batch > 0 ? in.fixed_batch : int64_t(j - i);
      std::vector<Tensor> outs = s.run({stack(d, i, j, batch).view()});
      const OutputKind kind = output_kind(outs, batch);
      if (first) batchable = kind != OutputKind::tensors;
      first = false;
      if (batch == 1) {  // the outputs are the image's (no copy)
        results.push_back(image_result(s, d[i], outs, kind, f));
      } else {
        for (size_t k = i; k < j; ++k)
          results.push_back(
              image_result(s, d[k], image_slice(outs, names, batch, int64_t(k - i), s.model().path), kind, f));
      }
      i = j;
    }
  }
  return results;
}

void warn_label_count(const std::vector<ImageResult>& results, const std::vector<std::string>& labels) {
  for (const ImageResult& r : results) {
    size_t classes = r.kind == OutputKind::classes        ? r.prob.size()
                     : r.kind == OutputKind::segmentation ? size_t(r.map_shape[1])
                                                          : 0;
    if (classes == 0) continue;
    if (!labels.empty() && labels.size() != classes)
      std::fprintf(stderr, "octet infer: warning: %zu labels for %zu classes\n", labels.size(), classes);
    return;
  }
}

}  // namespace

int cmd_infer(int argc, char** argv) {
  std::set<std::string> with_value = {"--top", "--labels", "--mask", "--save"};
  with_value.insert(kSessionFlags.begin(), kSessionFlags.end());
  with_value.insert(kImageFlags.begin(), kImageFlags.end());
  Args a(argc, argv, with_value, {"--json", kNoCropFlag});
  if (a.positional().size() < 2) throw UsageError("infer needs a MODEL and at least one IMAGE");
  InferFlags f;
  f.top = a.get_int("--top", 5);
  f.top_given = a.has("--top");
  if (f.top < 1) throw UsageError("--top must be >= 1");
  f.mask = a.get("--mask");
  f.save = a.get("--save");
  if (a.has("--mask") && f.mask.empty()) throw UsageError("--mask needs a FILE.png");
  if (a.has("--save") && f.save.empty()) throw UsageError("--save needs a DIR");
  const std::string model_path = a.positional()[0];
  const std::vector<std::string> images(a.positional().begin() + 1, a.positional().end());
  f.several = images.size() > 1;
  check_stems(images, f);

  std::unique_ptr<Session> session = open_session(model_path, a);
  const ImageInput in = image_input(*session, /*free_size=*/true);
  const ImageOptions opt = image_options(a, session->model());
  check_image_options(opt, in, a, session->model());
  if (in.free_size() && (in.height > 0 || in.width > 0) && a.has("--resize"))
    throw UsageError("--resize sets the shorter side, but input '" + in.name + "' has a fixed " +
                     (in.height > 0 ? "height " + std::to_string(in.height) : "width " + std::to_string(in.width)) +
                     ": images are scaled to it, keeping their aspect ratio");
  const std::vector<std::string> labels = class_labels(a, session->model());
  if (!f.save.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(f.save, ec);
    if (ec || !std::filesystem::is_directory(f.save))
      throw Error(f.save + ": cannot create the --save folder (" + (ec ? ec.message() : "not a directory") + ")");
  }

  const std::vector<ImageResult> results = run_images(*session, images, in, opt, f);
  warn_label_count(results, labels);
  if (a.has("--json")) print_json(results, labels);
  else print_text(results, labels);
  return 0;
}

}  // namespace octet::tools

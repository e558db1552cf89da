// Classifies images with the C++ API: all images go through the model as one batch.
//   classify MODEL IMAGE...   ->   one line per image: "IMAGE<TAB>LABEL<TAB>PROBABILITY"
#include <octet/octet.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    octet::Session session = octet::Session::load(argv[1]);
    const std::vector<std::string> labels = session.labels();

    // Bind the batch to the number of images, then decode each image straight into its row of the batch.
    const int64_t n = argc - 2;
    std::vector<int64_t> shape = session.input(0).shape;  // [N, C, H, W]
    shape[0] = n;
    session.set_input_shape(0, shape);
    const size_t row = size_t(shape[1] * shape[2] * shape[3]);
    std::vector<float> batch(size_t(n) * row);
    for (int64_t i = 0; i < n; ++i)
      session.load_image(argv[2 + i], std::span<float>(batch).subspan(size_t(i) * row, row));

    std::vector<octet::Tensor> out = session.run({octet::TensorView(std::span<const float>(batch), shape)});
    std::span<const float> scores = out[0].data<float>();
    const size_t classes = scores.size() / size_t(n);
    for (int64_t i = 0; i < n; ++i) {
      std::span<const float> s = scores.subspan(size_t(i) * classes, classes);
      // Softmax for a probability: p_k = exp(s_k - max s) / sum_j exp(s_j - max s).
      const float mx = *std::max_element(s.begin(), s.end());
      double z = 0;
      for (float v : s) z += std::exp(double(v - mx));
      const size_t top = size_t(std::max_element(s.begin(), s.end()) - s.begin());
      const std::string label = top < labels.size() ? labels[top] : std::to_string(top);
      std::printf("%s\t%s\t%.4f\n", argv[2 + i], label.c_str(), 1.0 / z);
    }
    return 0;
  } catch (const octet::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

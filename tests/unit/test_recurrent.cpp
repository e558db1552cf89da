// LSTM / GRU / RNN against a naive reference written straight from the ONNX equations (double precision, one
// batch row and step at a time): every direction, sequence_lens shorter than the sequence, initial states,
// biases, LSTM peepholes and input_forget, GRU linear_before_reset, clip, layout = 1 (opset 14), and the errors.
#include <doctest/doctest.h>

#include <cmath>

#include "op_test_util.h"

namespace {

using namespace octet;
using namespace octet::test;

struct Cfg {
  std::string op = "LSTM";
  std::string dir = "forward";
  int64_t seq = 4, batch = 3, input = 5, hidden = 6;
  bool bias = true, lens = false, init = false, peep = false, lbr = false, input_forget = false, layout1 = false;
  bool const_weights = true;  // W and R as constants (packed at load) or as run-time inputs
  float clip = 0;
};

int64_t gates_of(const std::string& op) { return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1; }
double sig(double x) { return 1 / (1 + std::exp(-x)); }

struct Data {
  std::vector<float> x, w, r, b, h0, c0, p;
  std::vector<int32_t> lens;
};

// Y [seq][dirs][batch][hidden], Y_h and Y_c [dirs][batch][hidden] (layout 0 order; the test permutes for 1).
void reference(const Cfg& c, const Data& d, std::vector<float>& y, std::vector<float>& yh, std::vector<float>& yc) {
  const int64_t G = gates_of(c.op), H = c.hidden, I = c.input, dirs = c.dir == "bidirectional" ? 2 : 1;
  y.assign(size_t(c.seq * dirs * c.batch * H), 0.f);
  yh.assign(size_t(dirs * c.batch * H), 0.f);
  yc = yh;
  auto cl = [&](double v) { return c.clip > 0 ? std::min(std::max(v, -double(c.clip)), double(c.clip)) : v; };
  for (int64_t dd = 0; dd < dirs; ++dd) {
    const bool rev = c.dir == "reverse" || dd == 1;
    const float* W = d.w.data() + dd * G * H * I;
    const float* R = d.r.data() + dd * G * H * H;
    for (int64_t b = 0; b < c.batch; ++b) {
      const int64_t len = c.lens ? d.lens[size_t(b)] : c.seq;
      std::vector<double> h(static_cast<size_t>(H), 0), cc(static_cast<size_t>(H), 0);
      if (c.init)
        for (int64_t j = 0; j < H; ++j)
          h[size_t(j)] = d.h0[size_t((dd * c.batch + b) * H + j)],
          cc[size_t(j)] = c.op == "LSTM" ? d.c0[size_t((dd * c.batch + b) * H + j)] : 0;
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = rev ? len - 1 - s : s;
        const float* xt = d.x.data() + (t * c.batch + b) * I;
        // wx[g], rh[g]: gate pre-activations from X and from H, with their biases.
        auto wx = [&](int64_t row) {
          double v = c.bias ? d.b[size_t(dd * 2 * G * H + row)] : 0;
          for (int64_t k = 0; k < I; ++k) v += W[row * I + k] * xt[k];
          return v;
        };
        auto rx = [&](int64_t row, const std::vector<double>& hv) {
          double v = c.bias ? d.b[size_t(dd * 2 * G * H + G * H + row)] : 0;
          for (int64_t k = 0; k < H; ++k) v += R[row * H + k] * hv[size_t(k)];
          return v;
        };
        std::vector<double> hn(static_cast<size_t>(H)), cn(static_cast<size_t>(H));
        if (c.op == "LSTM") {
          const float* P = c.peep ? d.p.data() + dd * 3 * H : nullptr;
          for (int64_t j = 0; j < H; ++j) {
            const double i = sig(cl(wx(j) + rx(j, h) + (P ? P[j] * cc[size_t(j)] : 0)));
            const double f = c.input_forget
                                 ? 1 - i
                                 : sig(cl(wx(2 * H + j) + rx(2 * H + j, h) + (P ? P[2 * H + j] * cc[size_t(j)] : 0)));
            const double g = std::tanh(cl(wx(3 * H + j) + rx(3 * H + j, h)));
            cn[size_t(j)] = f * cc[size_t(j)] + i * g;
            const double o = sig(cl(wx(H + j) + rx(H + j, h) + (P ? P[H + j] * cn[size_t(j)] : 0)));
            hn[size_t(j)] = o * std::tanh(cn[size_t(j)]);
          }
        } else if (c.op == "GRU") {
          std::vector<double> r(static_cast<size_t>(H)), rh(static_cast<size_t>(H));
          for (int64_t j = 0; j < H; ++j)
            r[size_t(j)] = sig(cl(wx(H + j) + rx(H + j, h))), rh[size_t(j)] = r[size_t(j)] * h[size_t(j)];
          for (int64_t j = 0; j < H; ++j) {
            const double z = sig(cl(wx(j) + rx(j, h)));
            const double hh = c.lbr ? std::tanh(cl(wx(2 * H + j) + r[size_t(j)] * rx(2 * H + j, h)))
                                    : std::tanh(cl(wx(2 * H + j) + rx(2 * H + j, rh)));
            hn[size_t(j)] = (1 - z) * hh + z * h[size_t(j)];
          }
        } else {
          for (int64_t j = 0; j < H; ++j) hn[size_t(j)] = std::tanh(cl(wx(j) + rx(j, h)));
        }
        h = hn;
        if (c.op == "LSTM") cc = cn;
        for (int64_t j = 0; j < H; ++j) y[size_t(((t * dirs + dd) * c.batch + b) * H + j)] = float(h[size_t(j)]);
      }
      for (int64_t j = 0; j < H; ++j) {
        yh[size_t((dd * c.batch + b) * H + j)] = float(h[size_t(j)]);
        yc[size_t((dd * c.batch + b) * H + j)] = float(cc[size_t(j)]);
      }
    }
  }
}

// Swaps the two leading dims of a [a][b][inner] array.
std::vector<float> swap01(const std::vector<float>& v, int64_t a, int64_t b, int64_t inner) {
  std::vector<float> r(v.size());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < inner; ++k) r[size_t((j * a + i) * inner + k)] = v[size_t((i * b + j) * inner + k)];
  return r;
}

void check(const Cfg& c) {
  const int64_t G = gates_of(c.op), H = c.hidden, dirs = c.dir == "bidirectional" ? 2 : 1;
  Data d;
  d.x = random_floats(size_t(c.seq * c.batch * c.input), -1, 1, 1);
  d.w = random_floats(size_t(dirs * G * H * c.input), -0.5f, 0.5f, 2);
  d.r = random_floats(size_t(dirs * G * H * H), -0.5f, 0.5f, 3);
  d.b = random_floats(size_t(dirs * 2 * G * H), -0.5f, 0.5f, 4);
  d.h0 = random_floats(size_t(dirs * c.batch * H), -1, 1, 5);
  d.c0 = random_floats(size_t(dirs * c.batch * H), -1, 1, 6);
  d.p = random_floats(size_t(dirs * 3 * H), -0.5f, 0.5f, 7);
  for (int64_t b = 0; b < c.batch; ++b)
    d.lens.push_back(int32_t(c.lens ? (b % 2 ? c.seq : std::max<int64_t>(1, c.seq - 1 - b)) : c.seq));
  std::vector<float> y, yh, yc;
  reference(c, d, y, yh, yc);
  OpTest t(c.op, c.layout1 ? 14 : 7);
  const Shape xs = c.layout1 ? Shape{c.batch, c.seq, c.input} : Shape{c.seq, c.batch, c.input};
  const Shape st = c.layout1 ? Shape{c.batch, dirs, H} : Shape{dirs, c.batch, H};
  t.input(HostTensor::f32(xs, c.layout1 ? swap01(d.x, c.seq, c.batch, c.input) : d.x));
  if (c.const_weights)
    t.constant(HostTensor::f32({dirs, G * H, c.input}, d.w)).constant(HostTensor::f32({dirs, G * H, H}, d.r));
  else
    t.input(HostTensor::f32({dirs, G * H, c.input}, d.w)).input(HostTensor::f32({dirs, G * H, H}, d.r));
  if (c.bias)
    t.input(HostTensor::f32({dirs, 2 * G * H}, d.b));
  else
    t.absent();
  if (c.lens)
    t.input(HostTensor::of<int32_t>(DType::i32, {c.batch}, d.lens));
  else
    t.absent();
  auto state = [&](const std::vector<float>& v) { return c.layout1 ? swap01(v, dirs, c.batch, H) : v; };
  if (c.init)
    t.input(HostTensor::f32(st, state(d.h0)));
  else
    t.absent();
  if (c.op == "LSTM") {
    if (c.init)
      t.input(HostTensor::f32(st, state(d.c0)));
    else
      t.absent();
    if (c.peep) t.input(HostTensor::f32({dirs, 3 * H}, d.p));
  }
  t.attr_s("direction", c.dir).attr_i("hidden_size", H);
  if (c.layout1) t.attr_i("layout", 1);
  if (c.lbr) t.attr_i("linear_before_reset", 1);
  if (c.input_forget) t.attr_i("input_forget", 1);
  if (c.clip > 0) t.attr_f("clip", c.clip);
  t.output(DType::f32, c.layout1 ? Shape{c.batch, c.seq, dirs, H} : Shape{c.seq, dirs, c.batch, H});
  t.output(DType::f32, st);
  if (c.op == "LSTM") t.output(DType::f32, st);
  for (kernels::Isa isa : cpu_tiers()) {
    SerialChunks par(2);
    t.run_on(isa, &par);
    // Y layout 1 is [batch][seq][dirs][hidden]: swap batch to the front of the reference's [seq][dirs][batch].
    std::vector<float> want_y = y;
    if (c.layout1) {
      want_y.clear();
      for (int64_t b = 0; b < c.batch; ++b)
        for (int64_t s = 0; s < c.seq; ++s)
          for (int64_t dd = 0; dd < dirs; ++dd)
            for (int64_t j = 0; j < H; ++j) want_y.push_back(y[size_t(((s * dirs + dd) * c.batch + b) * H + j)]);
    }
    check_close(t.out(0).values<float>(), want_y, 1e-4f, 1e-5f, "Y");
    check_close(t.out(1).values<float>(), state(yh), 1e-4f, 1e-5f, "Y_h");
    if (c.op == "LSTM") check_close(t.out(2).values<float>(), state(yc), 1e-4f, 1e-5f, "Y_c");
  }
}

}  // namespace

TEST_SUITE("recurrent") {
  TEST_CASE("LSTM, GRU, RNN against the reference: directions, sequence_lens, initial state, layout, options") {
    for (const char* op : {"LSTM", "GRU", "RNN"}) {
      for (const char* dir : {"forward", "reverse", "bidirectional"}) {
        for (int variant = 0; variant < 4; ++variant) {
          Cfg c;
          c.op = op;
          c.dir = dir;
          c.bias = variant != 1;
          c.lens = variant >= 2;
          c.init = variant == 1 || variant == 3;
          c.layout1 = variant == 3;
          c.peep = c.op == "LSTM" && variant == 2;
          c.lbr = c.op == "GRU" && variant % 2 == 1;
          c.const_weights = variant != 0;
          CAPTURE(op);
          CAPTURE(dir);
          CAPTURE(variant);
          check(c);
        }
      }
    }
    Cfg c;
    c.input_forget = true;
    c.clip = 0.3f;
    c.peep = true;
    check(c);
    c.op = "GRU";
    c.input_forget = false;
    check(c);
  }

  TEST_CASE("recurrent: activation lists (Relu runs, others are refused by name); bad inputs are errors") {
    auto rnn = [](OpTest& t, std::vector<std::string> acts, Shape w) {
      t.input(HostTensor::f32({2, 1, 3}, {1, -2, 3, -4, 5, -6}));
      t.constant(HostTensor::f32(w, std::vector<float>(size_t(num_elements(w)), 0.5f)));
      t.constant(HostTensor::f32({1, 2, 2}, std::vector<float>(4, 0.25f)));
      t.attr_i("hidden_size", 2).attr_strings("activations", std::move(acts));
      t.output(DType::f32, {2, 1, 1, 2}).output(DType::f32, {1, 1, 2});
    };
    {
      // h1 = relu(0.5 * (1 - 2 + 3)) = 1 per unit; h2 = relu(0.5 * (-4 + 5 - 6) + 0.25 * (1 + 1)) = relu(-2) = 0.
      OpTest t("RNN", 7);
      rnn(t, {"Relu"}, {1, 2, 3});
      t.run_on(kernels::detected_isa());
      CHECK(t.out(0).values<float>() == std::vector<float>{1, 1, 0, 0});
      CHECK(t.out(1).values<float>() == std::vector<float>{0, 0});
    }
    {
      OpTest t("RNN", 7);
      rnn(t, {"Softsign"}, {1, 2, 3});
      try {
        t.make();
        FAIL("no error");
      } catch (const Unsupported& e) {
        CHECK(std::string(e.what()).find("node 'n0'") != std::string::npos);
        CHECK(std::string(e.what()).find("activation 'Softsign'") != std::string::npos);
      }
    }
    {
      OpTest t("RNN", 7);
      rnn(t, {"Tanh", "Tanh"}, {1, 2, 3});
      CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("activations has 2 entries, expected 1"), Error);
    }
    {
      OpTest t("RNN", 7);
      rnn(t, {"Tanh"}, {1, 2, 4});  // W's input size 4, X's 3
      CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("W '"), Error);
    }
  }

}  // TEST_SUITE

// Einsum against a naive reference (every label combination, double accumulation) on the equations exporters
// write and the corner cases: transposed operands read in place, operands and outputs that need a copy,
// diagonals, labels summed in one operand, implicit output, ellipsis broadcasting, one and three operands,
// and the errors.
#include <doctest/doctest.h>

#include <map>

#include "op_test_util.h"

namespace {

using namespace octet;
using namespace octet::test;

// Naive einsum for an explicit, letters-only equation "ab,bc->ac".
std::vector<float> naive_einsum(const std::string& eq, const std::vector<Shape>& shapes,
                                const std::vector<std::vector<float>>& xs) {
  const size_t arrow = eq.find("->");
  std::vector<std::string> ins;
  std::string lhs = eq.substr(0, arrow), out = eq.substr(arrow + 2);
  for (size_t b = 0;;) {
    const size_t e = lhs.find(',', b);
    ins.push_back(lhs.substr(b, e == std::string::npos ? e : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  std::map<char, int64_t> size;
  for (size_t i = 0; i < ins.size(); ++i)
    for (size_t d = 0; d < ins[i].size(); ++d) size[ins[i][d]] = std::max(size[ins[i][d]], shapes[i][d]);
  std::vector<char> letters;
  for (auto& [l, s] : size) letters.push_back(l);
  int64_t total = 1, n_out = 1;
  for (char l : letters) total *= size[l];
  for (char l : out) n_out *= size[l];
  std::vector<double> y(size_t(n_out), 0);
  std::map<char, int64_t> idx;
  for (int64_t f = 0; f < total; ++f) {
    int64_t rem = f;
    for (size_t k = letters.size(); k-- > 0;) idx[letters[k]] = rem % size[letters[k]], rem /= size[letters[k]];
    double p = 1;
    for (size_t i = 0; i < ins.size(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < ins[i].size(); ++d)
        off = off * shapes[i][d] + (shapes[i][d] == 1 ? 0 : idx[ins[i][d]]);  // size 1: broadcast
      p *= xs[i][size_t(off)];
    }
    int64_t o = 0;
    for (char l : out) o = o * size[l] + idx[l];
    y[size_t(o)] += p;
  }
  return std::vector<float>(y.begin(), y.end());
}

struct Case {
  std::string eq;   // what the node gets
  std::string ref;  // the letters-only equivalent for the reference ("" = eq)
  std::vector<Shape> in;
  Shape out;
};

}  // namespace

TEST_SUITE("einsum") {
  TEST_CASE("Einsum: exporter forms and corner cases against the naive reference") {
    const std::vector<Case> cases = {
        {"bhid,bhjd->bhij", "", {{2, 3, 5, 8}, {2, 3, 7, 8}}, {2, 3, 5, 7}},  // attention scores: B read transposed
        {"bhij,bhjd->bhid", "", {{2, 3, 5, 7}, {2, 3, 7, 8}}, {2, 3, 5, 8}},  // attention context
        {"bij,bjk->bik", "", {{3, 4, 5}, {3, 5, 6}}, {3, 4, 6}},
        {"...ij,...jk->...ik", "abij,bjk->abik", {{2, 3, 4, 5}, {3, 5, 6}}, {2, 3, 4, 6}},  // ellipsis, rank differs
        {"...ij,...jk->...ik", "abij,bjk->abik", {{2, 1, 4, 5}, {3, 5, 6}}, {2, 3, 4, 6}},  // ellipsis broadcast 1 vs 3
        {"ij,jk", "ij,jk->ik", {{4, 5}, {5, 6}}, {4, 6}},                                   // implicit output
        {"ij,kj->ik", "", {{4, 5}, {6, 5}}, {4, 6}},                                        // Linear: x W^T
        {"ji,jk->ik", "", {{5, 4}, {5, 6}}, {4, 6}},                                        // A read transposed
        {"bij,bjk->kib", "", {{3, 4, 5}, {3, 5, 6}}, {6, 4, 3}},                            // output permuted from C
        {"ibj,jbk->bik", "", {{4, 3, 5}, {5, 3, 6}}, {3, 4, 6}},                            // strided batch
        {"ikj,jk->i", "", {{4, 3, 5}, {5, 3}}, {4}},              // k labels not adjacent in B: a copy
        {"ij,jk->i", "", {{4, 5}, {5, 6}}, {4}},                  // k summed in B only
        {"i,i", "i,i->", {{7}, {7}}, {}},                         // inner product
        {"i,j->ij", "", {{3}, {4}}, {3, 4}},                      // outer product
        {"ii->i", "", {{4, 4}}, {4}},                             // diagonal
        {"...ii->...i", "abii->abi", {{2, 3, 4, 4}}, {2, 3, 4}},  // batch diagonal
        {"ij->ji", "", {{3, 5}}, {5, 3}},                         // transpose
        {"ij->i", "", {{3, 5}}, {3}},                             // sum
        {"ij,jk,kl->il", "", {{2, 3}, {3, 4}, {4, 5}}, {2, 5}},   // three operands
        {"bii,bij->bj", "", {{2, 3, 3}, {2, 3, 4}}, {2, 4}},      // diagonal in a product
        {" b i j , b j k -> b i k ", "bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}, {2, 3, 5}},  // spaces
    };
    SerialChunks par(3);
    for (const Case& c : cases) {
      CAPTURE(c.eq);
      std::vector<std::vector<float>> xs;
      for (size_t i = 0; i < c.in.size(); ++i)
        xs.push_back(random_floats(size_t(num_elements(c.in[i])), -1, 1, uint32_t(7 + i)));
      const std::vector<float> want = naive_einsum(c.ref.empty() ? c.eq : c.ref, c.in, xs);
      for (kernels::Isa isa : cpu_tiers()) {
        OpTest t("Einsum", 12);
        for (size_t i = 0; i < c.in.size(); ++i) t.input(HostTensor::f32(c.in[i], xs[i]));
        t.attr_s("equation", c.eq).output(DType::f32, c.out);
        check_close(t.run_on(isa, &par).values<float>(), want, 1e-5f, 1e-5f, c.eq);
      }
    }
  }

  TEST_CASE("Einsum: malformed equations and mismatched operands are errors naming the node") {
    auto err = [](const std::string& eq, std::vector<Shape> in) {
      OpTest t("Einsum", 12);
      for (const Shape& s : in) t.input(HostTensor::f32(s, std::vector<float>(size_t(num_elements(s)), 1.f)));
      t.attr_s("equation", eq).output(DType::f32, {1});
      try {
        t.make();
      } catch (const Error& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    CHECK(err("ij,jk->ik", {{2, 3}}).find("has 2 operands, the node has 1") != std::string::npos);
    CHECK(err("ij,jk->ik", {{2, 3}, {4, 5}}).find("dimension 'j' is 3 in one operand and 4") != std::string::npos);
    CHECK(err("ijk->i", {{2, 3}}).find("names 3 dims, operand has rank 2") != std::string::npos);
    CHECK(err("i..j->i", {{2, 3}}).find("malformed") != std::string::npos);
    CHECK(err("ij->ii", {{2, 3}}).find("repeats a label") != std::string::npos);
    CHECK(err("i1->i", {{2, 3}}).find("invalid character") != std::string::npos);
    CHECK(err("ij->k", {{2, 3}}).find("in no operand") != std::string::npos);
    CHECK(err("ij->k", {{2, 3}}).find("node 'n0'") != std::string::npos);
  }

}  // TEST_SUITE

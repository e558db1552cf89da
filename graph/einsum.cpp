#include "graph/einsum.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace octet {

int EinsumEquation::index(int label) const {
  return int(std::lower_bound(labels.begin(), labels.end(), label) - labels.begin());
}

namespace {

// One side of the equation ("ab...c"): letters and at most one ellipsis, expanded for a tensor of `rank`
// (rank < 0: the output, where the ellipsis stands for `ell` dims).
std::vector<int> expand_term(const Graph& g, int id, const std::string& term, int64_t rank, int64_t ell,
                             int64_t* ell_out) {
  std::vector<int> letters;
  int64_t at = -1;
  for (size_t i = 0; i < term.size(); ++i) {
    const char ch = term[i];
    if (ch == '.') {
      if (at >= 0 || term.compare(i, 3, "...") != 0)
        g.fail(id, "equation term '" + term + "' has a malformed or repeated ellipsis");
      at = int64_t(letters.size());
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(ch))) {
      letters.push_back(ch);
    } else {
      g.fail(id, std::string("equation term '") + term + "' has an invalid character '" + ch + "'");
    }
  }
  int64_t n_ell = 0;
  if (rank >= 0) {
    n_ell = rank - int64_t(letters.size());
    if (n_ell < 0 || (at < 0 && n_ell != 0))
      g.fail(id, "equation term '" + term + "' names " + std::to_string(letters.size()) + " dims, operand has rank " +
                     std::to_string(rank));
  } else {
    n_ell = at >= 0 ? ell : 0;
  }
  if (ell_out) *ell_out = at >= 0 ? n_ell : 0;
  std::vector<int> r(letters.begin(), letters.begin() + (at >= 0 ? at : int64_t(letters.size())));
  for (int64_t k = n_ell; k-- > 0;) r.push_back(EinsumEquation::kEllipsis + int(k));
  if (at >= 0) r.insert(r.end(), letters.begin() + at, letters.end());
  return r;
}

}  // namespace

EinsumEquation parse_einsum(const Graph& g, int id, const std::vector<Shape>& shapes) {
  std::string eq;
  for (char ch : g.nodes[id].attr_s("equation", ""))
    if (ch != ' ') eq += ch;
  if (eq.empty()) g.fail(id, "attribute 'equation' is required");
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t b = 0;;) {
    const size_t e = lhs.find(',', b);
    terms.push_back(lhs.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  if (terms.size() != shapes.size())
    g.fail(id, "equation '" + eq + "' has " + std::to_string(terms.size()) + " operands, the node has " +
                   std::to_string(shapes.size()) + " inputs");
  EinsumEquation r;
  int64_t max_ell = 0;
  std::map<int, int64_t> size;
  std::map<int, int> count;
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t ell = 0;
    r.in.push_back(expand_term(g, id, terms[i], int64_t(shapes[i].size()), 0, &ell));
    max_ell = std::max(max_ell, ell);
    for (size_t d = 0; d < r.in[i].size(); ++d) {
      const int l = r.in[i][d];
      const int64_t s = shapes[i][d];
      ++count[l];
      auto it = size.find(l);
      if (it == size.end() || it->second == 1) {
        size[l] = s;
      } else if (s != it->second && !(s == 1 && l >= EinsumEquation::kEllipsis)) {
        g.fail(id, "equation '" + eq + "': dimension '" +
                       (l < EinsumEquation::kEllipsis ? std::string(1, char(l)) : std::string("...")) + "' is " +
                       std::to_string(it->second) + " in one operand and " + std::to_string(s) + " in operand " +
                       std::to_string(i));
      }
    }
  }
  if (arrow != std::string::npos) {
    r.out = expand_term(g, id, eq.substr(arrow + 2), -1, max_ell, nullptr);
    std::vector<int> seen = r.out;
    std::sort(seen.begin(), seen.end());
    if (std::adjacent_find(seen.begin(), seen.end()) != seen.end())
      g.fail(id, "equation '" + eq + "' repeats a label in its output");
    for (int l : r.out)
      if (!size.count(l))
        g.fail(id, "equation '" + eq + "': output label '" + std::string(1, char(l)) + "' is in no operand");
  } else {
    for (int64_t k = max_ell; k-- > 0;) r.out.push_back(EinsumEquation::kEllipsis + int(k));
    for (auto& [l, n] : count)
      if (l < EinsumEquation::kEllipsis && n == 1) r.out.push_back(l);
  }
  for (auto& [l, s] : size) {
    r.labels.push_back(l);
    r.size.push_back(s);
  }
  return r;
}

}  // namespace octet

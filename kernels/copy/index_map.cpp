#include "kernels/copy/index_map.h"

#include <cstring>
#include <limits>

namespace octet::kernels::copy {

namespace {

// Entries a merged table may have: merging trades table size (read once per row) for longer inner loops.
constexpr int64_t kMaxMergedTable = 1 << 16;
// Inner rows shorter than this are merged with the dim outside them even when that breaks contiguity.
constexpr int64_t kShortRow = 64;

bool contiguous(const std::vector<int64_t>& t) {
  if (t.empty() || t[0] < 0) return false;
  for (size_t j = 1; j < t.size(); ++j)
    if (t[j] != t[0] + int64_t(j)) return false;
  return true;
}

// The table of dims (a, b) merged: entry i * len(b) + j = a[i] + b[j] (kFill when either is kFill).
std::vector<int64_t> merge(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> r;
  r.reserve(a.size() * b.size());
  for (int64_t u : a)
    for (int64_t v : b) r.push_back(u < 0 || v < 0 ? kFill : u + v);
  return r;
}

template <class T>
void copy_rows(const IndexMap& m, const T* x, T* y, T fill, bool inner_contiguous, int64_t r0, int64_t r1) {
  const size_t k = m.out.size();
  const int64_t inner = m.out.back();
  const std::vector<int64_t>& it = m.tab.back();
  std::vector<int64_t> idx(k - 1, 0);
  for (int64_t rem = r0, d = int64_t(k) - 2; d >= 0; --d) {
    idx[size_t(d)] = rem % m.out[size_t(d)];
    rem /= m.out[size_t(d)];
  }
  int64_t prev_base = std::numeric_limits<int64_t>::min();
  bool prev_fill = false;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t base = 0;
    bool is_fill = false;
    for (size_t d = 0; d + 1 < k; ++d) {
      const int64_t t = m.tab[d][size_t(idx[d])];
      if (t < 0)
        is_fill = true;
      else
        base += t;
    }
    T* py = y + r * inner;
    if (r > r0 && base == prev_base && is_fill == prev_fill) {
      std::memcpy(py, py - inner, size_t(inner) * sizeof(T));  // same source row as the one just written
    } else if (is_fill) {
      for (int64_t j = 0; j < inner; ++j) py[j] = fill;
    } else if (inner_contiguous) {
      std::memcpy(py, x + base + it[0], size_t(inner) * sizeof(T));
    } else {
      const T* px = x + base;
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t t = it[size_t(j)];
        py[j] = t < 0 ? fill : px[t];
      }
    }
    prev_base = base, prev_fill = is_fill;
    for (size_t d = k - 1; d-- > 0;) {
      if (++idx[d] < m.out[d]) break;
      idx[d] = 0;
    }
  }
}

template <class T>
void run_t(const IndexMap& m, const void* xv, void* yv, const void* fillp, Parallel* par) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  T fill{};
  if (fillp) std::memcpy(&fill, fillp, sizeof(T));
  if (m.out.empty()) {
    *y = *x;
    return;
  }
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < m.out.size(); ++d) rows *= m.out[d];
  const int64_t inner = m.out.back();
  if (rows == 0 || inner == 0) return;
  const bool ic = contiguous(m.tab.back());
  // Work below ~32K elements stays on the calling thread (waking the pool costs more).
  if (!par || rows * inner < (1 << 15)) return copy_rows<T>(m, x, y, fill, ic, 0, rows);
  parallel_for(par, rows, [&](int64_t r0, int64_t r1) { copy_rows<T>(m, x, y, fill, ic, r0, r1); });
}

}  // namespace

IndexMap simplify(const IndexMap& m) {
  IndexMap r;
  // Size-1 dims: fold their single offset into the next kept dim (or the last one).
  int64_t carry = 0;
  bool all_fill = false;
  for (size_t d = 0; d < m.out.size(); ++d) {
    if (m.out[d] == 1 && m.tab[d][0] >= 0) {
      carry += m.tab[d][0];
      continue;
    }
    if (m.out[d] == 1) all_fill = true;
    r.out.push_back(m.out[d]);
    r.tab.push_back(m.tab[d]);
  }
  if (r.out.empty()) {
    if (m.out.empty()) return m;
    r.out = {1};
    r.tab = {{carry}};
    return r;
  }
  for (int64_t& t : r.tab[0])
    if (t >= 0) t += carry;
  if (all_fill) return m;  // rare (a slice of nothing padded): keep the original map
  while (r.out.size() >= 2) {
    const size_t k = r.out.size();
    const int64_t merged = r.out[k - 2] * r.out[k - 1];
    if (merged > kMaxMergedTable) break;
    std::vector<int64_t> t = merge(r.tab[k - 2], r.tab[k - 1]);
    if (!contiguous(t) && r.out[k - 1] >= kShortRow) break;
    r.out[k - 2] = merged;
    r.tab[k - 2] = std::move(t);
    r.out.pop_back();
    r.tab.pop_back();
  }
  return r;
}

void index_map_copy(const IndexMap& m, const void* x, void* y, size_t es, const void* fill, Parallel* par) {
  switch (es) {
    case 1:
      return run_t<uint8_t>(m, x, y, fill, par);
    case 2:
      return run_t<uint16_t>(m, x, y, fill, par);
    case 4:
      return run_t<uint32_t>(m, x, y, fill, par);
    default:
      return run_t<uint64_t>(m, x, y, fill, par);
  }
}

void index_map_copy_ref(const IndexMap& m, const void* x, void* y, size_t es, const void* fill) {
  int64_t n = 1;
  for (int64_t d : m.out) n *= d;
  std::vector<int64_t> idx(m.out.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t src = 0;
    bool is_fill = false;
    for (size_t d = 0; d < m.out.size(); ++d) {
      const int64_t t = m.tab[d][size_t(idx[d])];
      if (t < 0) is_fill = true;
      src += t;
    }
    char* dst = static_cast<char*>(y) + size_t(e) * es;
    if (is_fill)
      std::memcpy(dst, fill, es);
    else
      std::memcpy(dst, static_cast<const char*>(x) + size_t(src) * es, es);
    for (size_t d = m.out.size(); d-- > 0;) {
      if (++idx[d] < m.out[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace octet::kernels::copy

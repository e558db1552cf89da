// A batch of independent SGEMM problems of one size (MatMul's broadcast batch dims, Einsum's batch labels).
//
// Large problems run one after another, each split across the pool by the sgemm driver. When there are at least
// as many problems as threads and each is small enough to pack per thread (attention's per-head
// [S, D] x [D, S] products), whole problems go to different threads instead: one pool dispatch per batch
// rather than one per problem, and no thread idles on a tile tail. Each of the `threads` work units then packs
// into its own slice of the workspace.
#pragma once

#include <algorithm>

#include "engine/kernel.h"
#include "kernels/gemm/sgemm.h"

namespace octet::ops {

struct BatchedGemm {
  const kernels::gemm::SgemmKernel* uk = nullptr;
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool prepacked = false;  // B comes packed (sgemm's packed_b), so no B pack per problem
  int threads = 1;

  // Per-thread packing of B costs k*n floats per unit: past 4 MB the per-problem split is the better use.
  bool by_batch() const { return threads > 1 && batch >= threads && k * n <= (int64_t(1) << 20); }
  size_t slice_bytes() const {
    return (kernels::gemm::sgemm_workspace_bytes(*uk, m, n, k, 1, prepacked) + 63) / 64 * 64;
  }
  size_t workspace_bytes() const {
    return by_batch() ? size_t(threads) * slice_bytes()
                      : kernels::gemm::sgemm_workspace_bytes(*uk, m, n, k, threads, prepacked);
  }

  /// Calls sgemm(args_of(b)) for b < batch. The pool is used only if it has at most `threads` threads (the
  /// workspace was sized for that many).
  template <class ArgsOf>
  void run(ExecContext& ctx, ArgsOf args_of) const {
    kernels::Parallel* par = ctx.parallel && ctx.parallel->threads() <= threads ? ctx.parallel : nullptr;
    if (!by_batch() || !par || par->threads() < 2) {
      for (int64_t b = 0; b < batch; ++b) kernels::gemm::sgemm(*uk, args_of(b), ctx.workspace, par);
      return;
    }
    const int64_t units = par->threads();
    kernels::parallel_for(par, units, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        void* ws = static_cast<char*>(ctx.workspace) + size_t(u) * slice_bytes();
        for (int64_t b = batch * u / units; b < batch * (u + 1) / units; ++b)
          kernels::gemm::sgemm(*uk, args_of(b), ws, nullptr);
      }
    });
  }
};

}  // namespace octet::ops

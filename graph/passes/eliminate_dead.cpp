// eliminate_dead: a node none of whose outputs is read by a live node or is a graph output computes nothing
// anyone sees (octet's ops have no side effects); it is marked dead. Removing it can leave its producers unread
// in turn, which the next call finds (one node per step, so the step limit counts every removal).
#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

bool pass_eliminate_dead(Graph& g, std::string* note) {
  const auto cons = g.consumers();
  // Scan from the end: a chain's last node goes first, so a chain of k unread nodes takes k steps, not k^2 scans
  // of nodes that are still read.
  for (size_t i = g.nodes.size(); i-- > 0;) {
    Node& n = g.nodes[i];
    if (n.dead) continue;
    bool used = false;
    for (int o : n.outputs) used = used || passes::is_used(g, cons, o);
    if (used) continue;
    n.dead = true;
    if (note) *note = "eliminate_dead: '" + n.name + "' (" + n.op_type + ")";
    return true;
  }
  return false;
}

}  // namespace octet

#pragma once
// Lowering: the ONNX nodes for each traced tapegrad op (internal to tapegrad_deploy).
#include <string>
#include <unordered_map>

#include "tapegrad/deploy/graph.hpp"
#include "tapegrad/deploy/recorder.hpp"

namespace tg::onnx::detail {

/// Buffers (BatchNorm's running statistics) by address, to their state-dict names.
using BufferNames = std::unordered_map<const Tensor*, std::string>;

/// Adds the nodes computing `op` to the graph and names its output. Throws tg::Error naming the
/// op and its module path when it has no ONNX form.
void lower(GraphBuilder& graph, const TracedOp& op, const BufferNames& buffers);

/// Whether `op` is one that lower() knows (the others are reported when they are used).
bool has_onnx_form(const std::string& op);

}  // namespace tg::onnx::detail

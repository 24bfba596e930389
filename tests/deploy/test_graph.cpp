// GraphBuilder: one ONNX name per tapegrad value, initializers holding the values, node names
// from the module path.
#include <cstring>

#include <tapegrad/deploy/graph.hpp>
#include "test_util.hpp"

namespace tg {

TEST_CASE("GraphBuilder: bound names, constants for unknown values, fresh node outputs") {
  ::onnx::GraphProto graph;
  onnx::detail::GraphBuilder g(graph);
  const Variable w(test::make({2, 2}, {1, 2, 3, 4})), c(test::make({2}, {5, 6})), x(empty_tensor({1, 2}));
  g.bind(x, "input");
  CHECK(g.initializer("fc.weight", w.value()) == "fc.weight");
  g.bind(w, "fc.weight");
  CHECK(g.name_of(x) == "input");
  CHECK(g.name_of(w) == "fc.weight");
  const std::string cname = g.name_of(c);  // never bound: becomes a constant, once
  CHECK(cname == "constant_0");
  CHECK(g.name_of(c) == cname);
  REQUIRE(graph.initializer_size() == 2);
  const auto& t = graph.initializer(1);
  CHECK(t.data_type() == ::onnx::TensorProto::FLOAT);
  REQUIRE(t.dims_size() == 1);
  CHECK(t.dims(0) == 2);
  REQUIRE(t.raw_data().size() == 2 * sizeof(float));
  float values[2];
  std::memcpy(values, t.raw_data().data(), sizeof values);
  CHECK(values[0] == 5.0f);
  CHECK(values[1] == 6.0f);

  auto& n = g.node("Gemm", {"input", "fc.weight"}, "Net.fc");
  CHECK(n.name() == "/Net.fc/Gemm_0");
  CHECK(n.output(0) == "/Net.fc/Gemm_0:0");
  CHECK(g.node("Gemm", {}, "Net.fc").name() == "/Net.fc/Gemm_1");
  onnx::detail::set_ints(n, "perm", {1, 0});
  CHECK(n.attribute(0).ints_size() == 2);
  const std::string shape = g.int64s({0, -1}, "shape");
  CHECK(graph.initializer(2).name() == shape);
  CHECK(graph.initializer(2).data_type() == ::onnx::TensorProto::INT64);
  CHECK(graph.initializer(2).int64_data(1) == -1);
}

}  // namespace tg

// LibTorch's tensor surface on tg::Variable: methods, factories with TensorOptions, printing,
// devices and grad_fn names, each against PyTorch/LibTorch 1.13 (golden/make_methods_golden.py).
#include <functional>
#include <iomanip>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/golden/methods_golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;
using tg::test::make;

namespace {

Tensor golden_t(const std::string& name) { return golden::methods_tensor(name); }

// Runs fn on leaves made from the golden inputs, checks the result against NAME.y, then
// backpropagates NAME.gy and checks each input's gradient against NAME.g<i>.
void check_case(const std::string& name, const std::vector<std::string>& inputs,
                const std::function<Variable(const std::vector<Variable>&)>& fn,
                double atol = 1e-5, double rtol = 1e-5) {
  CAPTURE(name);
  std::vector<Variable> xs;
  for (const auto& in : inputs) xs.emplace_back(golden_t(in), true);
  Variable y = fn(xs);
  check_close(y.value(), golden_t(name + ".y"), atol, rtol);
  y.backward(golden_t(name + ".gy"));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    CAPTURE(i);
    check_close(xs[i].grad(), golden_t(name + ".g" + std::to_string(i)), atol, rtol);
  }
}

std::string printed(const Variable& x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace

TEST_CASE("tensor methods: reductions with dim and keepdim match PyTorch, values and gradients") {
  using V = const std::vector<Variable>&;
  check_case("sum", {"x"}, [](V v) { return v[0].sum(); });
  check_case("sum_d1", {"x"}, [](V v) { return v[0].sum(1); });
  check_case("mean", {"x"}, [](V v) { return v[0].mean(); });
  check_case("mean_d1", {"x"}, [](V v) { return v[0].mean(1); });
  check_case("mean_dm2k", {"x"}, [](V v) { return v[0].mean(-2, true); });
  // Whole-tensor max/min of tied values: the same value as PyTorch; the gradient goes to the
  // first extreme element (tapegrad's rule, see test_reduce.cpp) where PyTorch 1.13 splits it.
  const Variable ties(golden_t("ties"), true);
  check_close(ties.max().value(), golden_t("max.y"));
  check_close(ties.min().value(), golden_t("min.y"));
  (ties.max() * 2.0f + ties.min()).backward();
  check_close(ties.grad(), make({3, 4}, {0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0}));
  check_case("max_d1", {"ties"}, [](V v) { return std::get<0>(v[0].max(1)); });
  check_case("max_d0k", {"ties"}, [](V v) { return std::get<0>(v[0].max(0, true)); });
  check_case("min_d1", {"ties"}, [](V v) { return std::get<0>(v[0].min(1)); });
  check_case("min_x_d0k", {"x"}, [](V v) { return std::get<0>(v[0].min(0, true)); });
  check_case("norm", {"x"}, [](V v) { return v[0].norm(); });
  check_case("norm_p1", {"x"}, [](V v) { return v[0].norm(1); });
  check_case("norm_p3", {"x"}, [](V v) { return v[0].norm(3); });
  check_case("norm_d1", {"x"}, [](V v) { return v[0].norm(2, 1); });
  check_case("norm_p3_d0k", {"x"}, [](V v) { return v[0].norm(3, 0, true); });
  check_case("norm_zero", {"zero3"}, [](V v) { return v[0].norm(); });
}

TEST_CASE("tensor methods: max/min with a dim return (values, indices) like LibTorch's tuple") {
  const Variable ties(golden_t("ties"));
  auto [values, indices] = ties.max(1);
  check_close(values.value(), golden_t("max_d1.y"));
  check_close(indices.value(), golden_t("max_d1.i"));
  auto [v0, i0] = ties.max(0, true);
  check_close(v0.value(), golden_t("max_d0k.y"));
  check_close(i0.value(), golden_t("max_d0k.i"));
  CHECK(i0.sizes() == std::vector<std::int64_t>{1, 4});
  check_close(std::get<1>(ties.min(1)).value(), golden_t("min_d1.i"));
  check_close(std::get<1>(Variable(golden_t("x")).min(0, true)).value(), golden_t("min_x_d0k.i"));
  check_close(ties.argmax().value(), golden_t("argmax"));
  check_close(ties.argmax(1).value(), golden_t("argmax_d1"));
  check_close(ties.argmax(0, true).value(), golden_t("argmax_d0k"));
  check_close(ties.argmin().value(), golden_t("argmin"));
  check_close(ties.argmin(1).value(), golden_t("argmin_d1"));
  CHECK_FALSE(indices.requires_grad());
}

TEST_CASE("tensor methods: all and any give 0/1 like LibTorch's bool results") {
  const Variable b(golden_t("bools"));
  check_close(b.all().value(), golden_t("all"));
  check_close(b.all(1).value(), golden_t("all_d1"));
  check_close((b * 0.0f).any(0).value(), golden_t("any_d0"));
  check_close(b.any().value(), golden_t("any"));
  CHECK(b.all(1, true).sizes() == std::vector<std::int64_t>{2, 1});
  CHECK(b.any().item<bool>());
  CHECK_FALSE(b.all().item<bool>());
}

TEST_CASE("tensor methods: elementwise math matches PyTorch, values and gradients") {
  using V = const std::vector<Variable>&;
  check_case("pow2", {"x"}, [](V v) { return v[0].pow(2); });
  check_case("pow_half", {"p"}, [](V v) { return v[0].pow(0.5f); });
  check_case("pow_t", {"p", "e"}, [](V v) { return v[0].pow(v[1]); }, 1e-5, 1e-4);
  check_case("sqrt", {"p"}, [](V v) { return v[0].sqrt(); });
  check_case("exp", {"x"}, [](V v) { return v[0].exp(); }, 1e-5, 1e-5);
  check_case("log", {"p"}, [](V v) { return v[0].log(); });
  check_case("abs", {"x"}, [](V v) { return v[0].abs(); });
  check_case("clamp", {"x"}, [](V v) { return v[0].clamp(-0.5f, 0.5f); });
  check_case("clamp_min", {"x"}, [](V v) { return v[0].clamp_min(0.25f); });
  check_case("clamp_max", {"x"}, [](V v) { return v[0].clamp_max(-0.25f); });
  check_case("neg", {"x"}, [](V v) { return v[0].neg(); });
  check_case("sigmoid", {"x"}, [](V v) { return v[0].sigmoid(); });
  check_case("tanh", {"x"}, [](V v) { return v[0].tanh(); });
  check_case("relu", {"x"}, [](V v) { return v[0].relu(); });
  check_case("mm", {"x", "w"}, [](V v) { return v[0].mm(v[1]); });
  check_case("t", {"x"}, [](V v) { return v[0].t(); });
  check_case("unsqueeze", {"x"}, [](V v) { return v[0].unsqueeze(1); });
  check_case("squeeze", {"x"}, [](V v) { return v[0].unsqueeze(0).unsqueeze(2).squeeze(); });
}

TEST_CASE("tensor methods: arithmetic methods equal the operators") {
  const Variable a(make({2}, {1, 4})), b(make({2}, {2, 8}));
  check_close(a.add(b).value(), (a + b).value());
  check_close(a.sub(b).value(), (a - b).value());
  check_close(a.mul(b).value(), (a * b).value());
  check_close(a.div(b).value(), (a / b).value());
  check_close(a.add(1).value(), make({2}, {2, 5}));
  check_close(a.sub(1).value(), make({2}, {0, 3}));
  check_close(a.mul(3).value(), make({2}, {3, 12}));
  check_close(a.div(2).value(), make({2}, {0.5f, 2}));
  check_close(a.matmul(b).value(), make({}, {34}));
  CHECK_THROWS_WITH_AS(a.mm(b), doctest::Contains("mm: expected two matrices"), tg::Error);
}

TEST_CASE("tensor methods: comparisons against scalars, tensors and labels return 0/1 tensors") {
  const Variable ties(golden_t("ties")), x(golden_t("x")), row(golden_t("row"));
  check_close(ties.eq(7).value(), golden_t("eq_s"));
  check_close(ties.ne(7).value(), golden_t("ne_s"));
  check_close(ties.lt(1).value(), golden_t("lt_s"));
  check_close(ties.le(1).value(), golden_t("le_s"));
  check_close(ties.gt(1).value(), golden_t("gt_s"));
  check_close(ties.ge(1.0).value(), golden_t("ge_s"));
  check_close(x.lt(row).value(), golden_t("lt_row"));
  check_close(x.ge(row.value()).value(), golden_t("ge_row"));
  Labels labels = Labels::from_shape({3});
  const Tensor l = golden_t("labels");
  for (std::size_t i = 0; i < 3; ++i) labels(i) = static_cast<std::int64_t>(l(i));
  check_close(ties.argmax(1).eq(labels).value(), golden_t("eq_labels"));
  CHECK(ties.argmax(1).eq(labels).sum().item<std::int64_t>() ==
        static_cast<std::int64_t>(golden_t("correct")()));
  CHECK_FALSE(Variable(x.value(), true).eq(0.5).requires_grad());
  CHECK_THROWS_WITH_AS(x.eq(Variable(make({3}, {1, 2, 3}))), doctest::Contains("eq: expected shapes that broadcast"),
                       tg::Error);
  const Variable nan(make({2}, {std::nanf(""), 1}));
  check_close(nan.ne(nan).value(), make({2}, {1, 0}));
  check_close(nan.eq(nan).value(), make({2}, {0, 1}));
}

TEST_CASE("the porter's lines of issue 35 compile and give LibTorch's results") {
  // LibTorch's autograd tutorial (cpp/autograd), renamed.
  auto x = tg::ones({2, 2}, tg::requires_grad());
  CHECK(printed(x) == " 1  1\n 1  1\n[ CPUFloatType{2,2} ]");
  auto y = x + 2;
  CHECK(y.grad_fn()->name() == "AddBackward1");
  auto z = y * y * 3;
  auto out = z.mean();
  CHECK(z.grad_fn()->name() == "MulBackward1");
  CHECK(out.grad_fn()->name() == "MeanBackward0");
  CHECK(printed(out) == "27\n[ CPUFloatType{} ]");
  out.backward();
  CHECK(printed(x.grad()) == " 4.5000  4.5000\n 4.5000  4.5000\n[ CPUFloatType{2,2} ]");

  auto a = tg::randn({2, 2});
  a = ((a * 3) / (a - 1));
  CHECK_FALSE(a.requires_grad());
  a.requires_grad_(true);
  CHECK(a.requires_grad());
  auto b = (a * a).sum();
  CHECK(b.grad_fn()->name() == "SumBackward0");

  auto v = tg::randn(3, tg::requires_grad());
  auto w = v * 2;
  while (w.norm().item<double>() < 1000) w = w * 2;
  CHECK(w.norm().item() >= 1000.0f);

  // mnist: the accuracy count with labels or a tensor of targets.
  const Variable output(make({3, 4}, {0.1f, 0.7f, 0.2f, 0, 0.9f, 0, 0, 0.1f, 0, 0, 0.3f, 0.6f}));
  Labels target = Labels::from_shape({3});
  target(0) = 1, target(1) = 0, target(2) = 2;
  const std::int64_t correct = output.argmax(1).eq(target).sum().item<std::int64_t>();
  CHECK(correct == 2);
  const auto pred = std::get<1>(output.max(1, true));
  CHECK(pred.eq(tg::tensor({1.f, 0.f, 2.f}).view({3, 1})).sum().item<std::int64_t>() == 2);
  CHECK(output.argmax(1).eq(tg::tensor({1.f, 0.f, 3.f})).sum().item<std::int64_t>() == 3);

  // regression and dcgan: sizes, views, in-place fills, *_like, empty, devices.
  auto W = tg::randn({4, 1}) * 0.5f;
  CHECK(W.size(0) == 4);
  CHECK(W.size(-1) == 1);
  auto xs = tg::randn(32).unsqueeze(1);
  CHECK(xs.sizes() == std::vector<std::int64_t>{32, 1});
  auto features = tg::cat({xs, xs.pow(2), xs.pow(3), xs.pow(4)}, 1);
  CHECK(features.mm(W).sizes() == std::vector<std::int64_t>{32, 1});
  const std::int64_t batch_size = features.size(0);
  auto noise = tg::randn({batch_size, 100, 1, 1});
  CHECK(noise.sizes() == std::vector<std::int64_t>{32, 100, 1, 1});
  auto real_labels = tg::empty(batch_size).uniform_(0.8, 1.0);
  CHECK(real_labels.min().item() >= 0.8f);
  CHECK(real_labels.max().item() < 1.0f);
  auto fake_labels = tg::zeros(batch_size);
  fake_labels.fill_(1);
  CHECK(fake_labels.sum().item<int>() == 32);
  auto o = tg::ones_like(real_labels);
  CHECK(o.sizes() == real_labels.sizes());
  CHECK(tg::zeros(64).sizes() == std::vector<std::int64_t>{64});

  tg::Device device = tg::kCPU;
  if (tg::cuda::is_available()) device = tg::Device(tg::kCUDA);
  auto moved = x.to(device);
  CHECK(moved.node() == x.node());
  CHECK(moved.device() == tg::Device("cpu"));
}

TEST_CASE("tensor methods: shapes, sizes and item") {
  const Variable x(test::uniform({2, 3, 4}, -1, 1, 5));
  CHECK(x.size(0) == 2);
  CHECK(x.size(-1) == 4);
  CHECK(x.size(-3) == 2);
  CHECK_THROWS_WITH_AS(x.size(3), doctest::Contains("size: expected dim in [-3, 2], got 3"), tg::Error);
  CHECK(x.sizes() == std::vector<std::int64_t>{2, 3, 4});
  CHECK(x.dim() == 3);
  CHECK(x.numel() == 24);
  CHECK(x.view(-1).sizes() == std::vector<std::int64_t>{24});
  CHECK(x.reshape({4, -1}).sizes() == std::vector<std::int64_t>{4, 6});
  CHECK(x.flatten().sizes() == std::vector<std::int64_t>{2, 12});
  CHECK(x.unsqueeze(-1).sizes() == std::vector<std::int64_t>{2, 3, 4, 1});
  CHECK(x.unsqueeze(0).sizes() == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK(x.squeeze(0).sizes() == x.sizes());  // size 2: unchanged, as in LibTorch
  CHECK(x.unsqueeze(1).squeeze(1).sizes() == x.sizes());
  CHECK(x.transpose(0, 2).sizes() == std::vector<std::int64_t>{4, 3, 2});
  CHECK(x.permute({2, 0, 1}).sizes() == std::vector<std::int64_t>{4, 2, 3});
  CHECK_THROWS_WITH_AS(x.t(), doctest::Contains("t: expected a tensor of at most 2 dimensions"), tg::Error);
  CHECK(Variable(make({3}, {1, 2, 3})).t().sizes() == std::vector<std::int64_t>{3});
  const Variable s(make({}, {41.7f}));
  CHECK(s.item() == 41.7f);
  CHECK(s.item<std::int64_t>() == 41);
  CHECK(s.item<double>() == doctest::Approx(41.7));
  CHECK(s.item<bool>());
  CHECK_THROWS_WITH_AS(x.item<int>(), doctest::Contains("item: expected a one-element tensor"), tg::Error);
}

TEST_CASE("tensor methods: gradcheck of the new differentiable free functions") {
  const Variable x(test::uniform({3, 4}, -2, 2, 11), true);
  const Variable pos(test::away_from_zero({3, 4}, 0.3f, 2, 12), true);
  using V = const std::vector<Variable>&;
  const std::vector<std::pair<const char*, std::function<Variable(V)>>> fns{
      {"mean", [](V v) { return mean(v[0]); }},
      {"mean_dim", [](V v) { return mean(v[0], 1); }},
      {"mean_dim_keep", [](V v) { return mean(v[0], -2, true); }},
      {"min", [](V v) { return min(v[0]); }},
      {"min_dim", [](V v) { return min(v[0], 0); }},
      {"min_dim_keep", [](V v) { return min(v[0], 1, true); }},
      {"norm", [](V v) { return norm(v[0]); }},
      {"norm_p1", [](V v) { return norm(v[0], 1.0f); }},
      {"norm_p3", [](V v) { return norm(v[0], 3.0f); }},
      {"norm_dim", [](V v) { return norm(v[0], 2.0f, 1); }},
      {"norm_p1_5_dim_keep", [](V v) { return norm(v[0], 1.5f, 0, true); }},
      {"unsqueeze", [](V v) { return unsqueeze(v[0], 1); }},
      {"squeeze", [](V v) { return squeeze(unsqueeze(v[0], 0)); }},
      {"t", [](V v) { return t(v[0]); }},
  };
  for (const auto& [name, fn] : fns) {
    CAPTURE(name);
    const bool kinked = std::string(name).starts_with("norm_p1");  // |x| at 0
    auto r = gradcheck(fn, {kinked ? pos : x});
    CHECK_MESSAGE(r.ok, r);
  }
}

TEST_CASE("mean records its own op; min, norm and argmin check their arguments") {
  const Variable x(test::uniform({2, 3}, -1, 1, 3), true);
  CHECK(std::string(mean(x).op_name()) == "mean");
  CHECK(std::string(mean(x, 1).op_name()) == "mean_dim");
  CHECK(std::string(x.mean().grad_fn()->name()) == "MeanBackward0");
  CHECK_THROWS_WITH_AS(norm(x, 0.0f), doctest::Contains("norm: expected a finite p > 0, got 0"), tg::Error);
  CHECK_THROWS_WITH_AS(min(x, 2), doctest::Contains("min: expected dim in [-2, 1], got 2"), tg::Error);
  CHECK_THROWS_WITH_AS(min(Variable(empty_tensor({0}))), doctest::Contains("min: expected a non-empty tensor"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(x.argmin(5), doctest::Contains("argmin: expected dim in"), tg::Error);
  const Variable nan(make({3}, {1, std::nanf(""), -1}), true);
  CHECK(std::isnan(nan.min().item()));  // NaN wins, as in PyTorch
  CHECK(nan.argmin().item<int>() == 1);
}

TEST_CASE("in-place initialisers work on leaves and refuse recorded results") {
  manual_seed(3);
  Variable w = tg::empty({1000});
  CHECK(&w.uniform_(-2, 3) == &w);
  CHECK(w.min().item() >= -2.0f);
  CHECK(w.max().item() < 3.0f);
  CHECK(w.mean().item() == doctest::Approx(0.5).epsilon(0.1));
  w.normal_(1, 2);
  const float m = w.mean().item();
  CHECK(m == doctest::Approx(1.0).epsilon(0.2));
  const float sd = std::sqrt((w - m).pow(2).mean().item());
  CHECK(sd == doctest::Approx(2.0).epsilon(0.1));
  w.zero_();
  CHECK(w.abs().sum().item() == 0.0f);
  w.fill_(2.5);
  CHECK(w.min().item() == 2.5f);

  Variable p = tg::zeros({3}, true);  // a parameter: allowed, like an init under NoGradGuard
  p.fill_(1);
  CHECK(p.sum().item() == 3);
  Variable y = p * 2.0f;
  CHECK_THROWS_WITH_AS(y.fill_(0), doctest::Contains("fill_: expected a leaf variable, got the result of mul_scalar"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(y.uniform_(), doctest::Contains("uniform_: expected a leaf"), tg::Error);
  CHECK_THROWS_WITH_AS(y.normal_(), doctest::Contains("normal_: expected a leaf"), tg::Error);
  CHECK_THROWS_WITH_AS(y.zero_(), doctest::Contains("zero_: expected a leaf"), tg::Error);
  CHECK_THROWS_WITH_AS(y.requires_grad_(false), doctest::Contains("requires_grad_: expected a leaf"), tg::Error);
  CHECK_THROWS_WITH_AS(w.uniform_(1, 0), doctest::Contains("uniform_: expected from <= to"), tg::Error);
  {
    NoGradGuard no_grad;
    Variable q = p * 2.0f;  // not recorded: a leaf
    q.fill_(7);
    CHECK(q.sum().item() == 21);
  }
}

TEST_CASE("grad_fn is null for leaves and names nodes as LibTorch's C++ does") {
  const Variable leaf = tg::ones({2}, true);
  CHECK(leaf.grad_fn() == nullptr);
  CHECK_FALSE(leaf.grad_fn());
  CHECK(tg::ones({2}).grad_fn() == nullptr);
  CHECK_THROWS_WITH_AS(leaf.grad_fn()->name(), doctest::Contains("a leaf has no grad_fn"), tg::Error);

  manual_seed(0);
  auto o = tg::requires_grad();
  auto a = tg::rand({2, 3}, o), b = tg::rand({2, 3}, o), m = tg::rand({3, 4}, o);
  auto img = tg::rand({1, 2, 5, 5}, o), cw = tg::rand({3, 2, 3, 3}, o);
  auto lw = tg::rand({4, 3}, o), lb = tg::rand({4}, o);
  Labels labels = Labels::from_shape({2});
  labels(0) = 2, labels(1) = 0;
  const std::vector<std::pair<const char*, Variable>> calls{
      {"a + b", a + b}, {"a - b", a - b}, {"a * b", a * b}, {"a / b", a / b}, {"a + 2", a + 2},
      {"a * 2", a * 2}, {"2 / a", 2 / a}, {"a.pow(2)", a.pow(2)}, {"a.pow(b)", a.pow(b)},
      {"a.exp()", a.exp()}, {"a.log()", a.log()}, {"a.sqrt()", a.sqrt()}, {"a.abs()", a.abs()},
      {"a.sigmoid()", a.sigmoid()}, {"a.tanh()", a.tanh()}, {"a.relu()", a.relu()},
      {"a.clamp(0.2, 0.8)", a.clamp(0.2, 0.8)}, {"a.sum()", a.sum()}, {"a.sum(1)", a.sum(1)},
      {"a.mean()", a.mean()}, {"a.mean(1)", a.mean(1)}, {"a.max()", a.max()},
      {"a.max(1)", std::get<0>(a.max(1))}, {"a.min()", a.min()}, {"a.min(1)", std::get<0>(a.min(1))},
      {"a.norm()", a.norm()}, {"a.view({3, 2})", a.view({3, 2})},
      {"a.permute({1, 0})", a.permute({1, 0})}, {"a.mm(m)", a.mm(m)}, {"a.matmul(m)", a.matmul(m)},
      {"cat({a, b})", tg::cat({a, b})}, {"linear(a, lw, lb)", tg::linear(a, lw, lb)},
      {"linear(a, lw)", tg::linear(a, lw)}, {"conv2d(img, cw)", tg::conv2d(img, cw)},
      {"max_pool2d(img, 2)", tg::max_pool2d(img, 2)}, {"avg_pool2d(img, 2)", tg::avg_pool2d(img, 2)},
      {"adaptive_avg_pool2d(img, 1)", tg::adaptive_avg_pool2d(img, {1, 1})},
      {"adaptive_avg_pool2d(img, 2)", tg::adaptive_avg_pool2d(img, {2, 2})},
      {"softmax(a, 1)", tg::softmax(a, 1)}, {"log_softmax(a, 1)", tg::log_softmax(a, 1)},
      {"leaky_relu(a, 0.2)", tg::leaky_relu(a, 0.2f)}, {"mse_loss(a, b)", tg::mse_loss(a, b.detach())},
      {"cross_entropy(a, labels)", tg::cross_entropy(a, labels)},
  };
  for (const auto& [call, y] : calls) {
    CAPTURE(call);
    REQUIRE(y.grad_fn());
    CHECK(y.grad_fn()->name() == golden::grad_fn_name(call));
  }
  // The name outlives the graph a backward freed.
  Variable mmv = a.mm(m);
  mmv.sum().backward();
  CHECK(mmv.grad_fn()->name() == "MmBackward0");
}

TEST_CASE("factories take LibTorch's sizes and TensorOptions, and keep tapegrad's forms") {
  auto x = tg::ones({2, 2}, tg::requires_grad());
  CHECK(x.requires_grad());
  CHECK(x.is_leaf());
  CHECK(tg::zeros({2, 2}, tg::TensorOptions().requires_grad(true)).requires_grad());
  CHECK_FALSE(tg::zeros({2, 2}, tg::TensorOptions().dtype(tg::kFloat32)).requires_grad());
  CHECK(tg::randn({3}, tg::dtype(tg::kFloat).requires_grad(true)).requires_grad());
  CHECK(tg::zeros({2}, tg::kFloat32).sizes() == std::vector<std::int64_t>{2});
  CHECK(tg::zeros({2}, tg::kCPU).sizes() == std::vector<std::int64_t>{2});
  CHECK(tg::full({2, 3}, 1.5f, tg::requires_grad()).sum().item() == 9.0f);
  // tapegrad's own forms stay.
  CHECK(tg::zeros(Shape{2, 3}, true).requires_grad());
  CHECK(tg::ones({2, 3}, false).sizes() == std::vector<std::int64_t>{2, 3});
  CHECK(tg::full(Shape{2}, 3.0f).sum().item() == 6.0f);
  CHECK(tg::rand(Shape{4}).numel() == 4);
  CHECK(tg::zeros({}).dim() == 0);
  // Sizes as one integer, int64_t vectors, and braced lists mixing integer types.
  CHECK(tg::zeros(64).sizes() == std::vector<std::int64_t>{64});
  const std::vector<std::int64_t> sizes{3, 1, 2};
  CHECK(tg::ones(sizes).sizes() == sizes);
  const std::int64_t n = 5;
  const std::size_t c = 2;
  const int h = 3;
  CHECK(tg::randn({n, c, h}).sizes() == std::vector<std::int64_t>{5, 2, 3});
  CHECK(tg::zeros(x.sizes()).sizes() == x.sizes());
  CHECK_THROWS_WITH_AS(tg::zeros({2, -1}), doctest::Contains("sizes: expected non-negative sizes, got -1"),
                       tg::Error);
  // dtype and device errors say what to do.
  CHECK_THROWS_WITH_AS(tg::zeros({2}, tg::kLong),
                       doctest::Contains("zeros: expected dtype Float (tg::kFloat32), got Long"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::ones({2}, tg::dtype(tg::kFloat64)), doctest::Contains("got Double"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::rand({2}, tg::Device(tg::kCUDA)),
                       doctest::Contains("tapegrad runs on the CPU only: rand was asked for device cuda"),
                       tg::Error);
  // *_like: the shape, not the requires_grad.
  const Variable p = tg::randn({2, 3}, true);
  for (const Variable& like : {tg::zeros_like(p), tg::ones_like(p), tg::rand_like(p), tg::randn_like(p),
                               tg::full_like(p, 4.0f), tg::empty_like(p)}) {
    CHECK(like.sizes() == p.sizes());
    CHECK_FALSE(like.requires_grad());
  }
  CHECK(tg::ones_like(p).sum().item() == 6.0f);
  CHECK(tg::full_like(p, 4.0f).min().item() == 4.0f);
  CHECK(tg::zeros_like(p, tg::requires_grad()).requires_grad());
  // empty is a Variable; the raw tensor is empty_tensor.
  Variable e = tg::empty({2, 3});
  CHECK(e.sizes() == std::vector<std::int64_t>{2, 3});
  Tensor raw = tg::empty_tensor({2, 3});
  CHECK(raw.size() == 6);
  // tensor(...)
  check_close(tg::tensor({1.f, 2.f}).value(), make({2}, {1, 2}));
  check_close(tg::tensor({{1, 2}, {3, 4}}).value(), make({2, 2}, {1, 2, 3, 4}));
  check_close(tg::tensor(3.5).value(), make({}, {3.5f}));
  check_close(tg::tensor(std::vector<float>{5, 6}).value(), make({2}, {5, 6}));
  CHECK(tg::tensor({1.f}, tg::requires_grad()).requires_grad());
  CHECK_THROWS_WITH_AS(tg::tensor({{1, 2}, {3}}), doctest::Contains("tensor: expected rows of equal length"),
                       tg::Error);
  // randint: integers in range, as floats.
  manual_seed(1);
  const Variable r = tg::randint(3, 7, {2000});
  CHECK(r.min().item() == 3.0f);
  CHECK(r.max().item() == 6.0f);
  CHECK((r - r.clamp(3, 6)).abs().sum().item() == 0.0f);
  Tensor frac = r.value();
  for (float v : frac) CHECK(v == std::floor(v));
  CHECK(tg::randint(10, {4}).max().item() < 10.0f);
  CHECK_THROWS_WITH_AS(tg::randint(5, 5, {2}), doctest::Contains("randint: expected low < high"), tg::Error);
  CHECK(tg::arange(4, tg::requires_grad()).requires_grad());
}

TEST_CASE("operator<< prints Variables and Tensors as LibTorch's C++ does") {
  for (const char* name : {"scalar", "scalar_int", "scalar_frac", "ints_1d", "floats_1d", "tiny_1d",
                           "wide_1d", "big_1d", "bigint_1d", "nan_1d", "allnan_1d", "empty_1d",
                           "ones_2x2", "randn_2x3", "neg_first", "scaled_2d", "wide_3x20",
                           "scaled_wide_2x15", "empty_2d", "rand_2x2x3", "ints_2x3x2x2", "mixed_3d"}) {
    CAPTURE(name);
    const Tensor t = golden::methods_tensor(std::string("print.") + name);
    CHECK(printed(Variable(t, true)) == golden::printed_text(name));
    std::ostringstream raw;
    raw << t;
    CHECK(raw.str() == golden::printed_text(name));
  }
  CHECK(printed(Variable()) == "[ Tensor (undefined) ]");
  // The caller's stream format is left as it was.
  std::ostringstream s;
  s << std::setprecision(3) << tg::ones({1}) << ' ' << 3.14159;
  CHECK(s.str() == " 1\n[ CPUFloatType{1} ] 3.14");
}

TEST_CASE("devices: the CPU is accepted everywhere, CUDA is a clear error") {
  CHECK_FALSE(tg::cuda::is_available());
  CHECK(tg::cuda::device_count() == 0);
  CHECK_FALSE(tg::cuda::cudnn_is_available());
  const tg::Device cpu("cpu");
  CHECK(cpu.is_cpu());
  CHECK(cpu.type() == tg::kCPU);
  CHECK(cpu == tg::Device(tg::kCPU));
  CHECK(cpu.str() == "cpu");
  const tg::Device gpu("cuda:1");
  CHECK(gpu.is_cuda());
  CHECK(gpu.index() == 1);
  CHECK(gpu.str() == "cuda:1");
  std::ostringstream s;
  s << cpu << ' ' << tg::kCUDA;
  CHECK(s.str() == "cpu cuda");
  CHECK_THROWS_WITH_AS(tg::Device("tpu"), doctest::Contains("Device: expected \"cpu\", \"cuda\" or \"cuda:N\""),
                       tg::Error);
  const Variable x = tg::ones({2}, true);
  CHECK(x.to(tg::kCPU).node() == x.node());
  CHECK(x.to(cpu, tg::kFloat32).node() == x.node());
  CHECK(x.cpu().node() == x.node());
  CHECK(x.contiguous().node() == x.node());
  CHECK(x.device() == cpu);
  CHECK_FALSE(x.is_cuda());
  CHECK(x.dtype() == tg::kFloat32);
  CHECK_THROWS_WITH_AS(x.to(tg::kCUDA),
                       doctest::Contains("tapegrad runs on the CPU only: Variable::to was asked for device cuda"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(x.cuda(), doctest::Contains("tapegrad runs on the CPU only"), tg::Error);
  CHECK_THROWS_WITH_AS(x.to(tg::kInt64), doctest::Contains("Variable::to: expected dtype Float"), tg::Error);
}

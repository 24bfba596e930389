// Tests of examples/auxiliary_losses: its network's outputs in training and eval mode, the two
// backward passes that measure the main loss's share of the gradient, and a smoke run.
#include <fstream>
#include <set>
#include <sstream>

#include "examples/auxiliary_losses/aux_net.hpp"
#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::examples::AuxNet;
using tg::examples::AuxNetOutputs;

namespace {

// The modules whose forward ran during `fn` (every Layer call is noted while a log is set).
template <class F>
std::set<const tg::nn::Module*> modules_called(F&& fn) {
  std::vector<tg::nn::detail::CallRecord> log;
  tg::nn::detail::call_log() = &log;
  fn();
  tg::nn::detail::call_log() = nullptr;
  std::set<const tg::nn::Module*> called;
  for (const auto& record : log) called.insert(record.module);
  return called;
}

bool any_called(const std::set<const tg::nn::Module*>& called, const tg::nn::Module& root) {
  for (const auto* m : root.modules())
    if (called.count(m)) return true;
  return false;
}

// The rows of a CSV file below its header, as numbers.
std::vector<std::vector<double>> read_rows(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<double>> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    rows.emplace_back();
    for (std::string cell; std::getline(cells, cell, ',');) rows.back().push_back(std::stod(cell));
  }
  return rows;
}

tg::Variable batch(std::uint64_t seed) { return tg::Variable(tg::test::uniform({4, 1, 28, 28}, -1, 1, seed)); }

}  // namespace

TEST_CASE("AuxNet returns three logits in training mode and runs no auxiliary head in eval mode") {
  tg::manual_seed(0);
  AuxNet model({.convs_per_stage = 1});
  const tg::Variable x = batch(1);
  AuxNetOutputs out;
  auto called = modules_called([&] { out = model.forward(x); });
  REQUIRE(out.has_aux());
  for (const auto* y : {&out.logits, &out.aux1, &out.aux2}) CHECK(y->shape() == tg::Shape{4, 10});
  CHECK(any_called(called, *model.aux1));
  CHECK(any_called(called, *model.aux2));

  model.eval();
  called = modules_called([&] { out = model.forward(x); });
  CHECK_FALSE(out.has_aux());
  CHECK_FALSE(out.aux2.defined());
  CHECK(out.logits.shape() == tg::Shape{4, 10});
  CHECK_FALSE(any_called(called, *model.aux1));
  CHECK_FALSE(any_called(called, *model.aux2));
  CHECK(any_called(called, *model.fc));
}

TEST_CASE("AuxNet without heads has the same trunk for the same seed and no aux parameters") {
  tg::manual_seed(7);
  AuxNet with({.convs_per_stage = 2});
  tg::manual_seed(7);
  AuxNet without({.convs_per_stage = 2, .aux_logits = false});
  CHECK(without.aux1.is_empty());
  const auto a = with.state_dict(), b = without.state_dict();
  CHECK(a.size() == b.size() + 12);  // each head: conv, fc1, fc2, weight and bias
  for (const auto& entry : b) {
    CHECK(entry.name.rfind("aux", 0) != 0);
    tg::test::check_close(a.at(entry.name), entry.value, 0, 0);
  }
  with.eval(), without.eval();
  const tg::Variable x = batch(2);
  tg::test::check_close(with.forward(x).logits.value(), without.forward(x).logits.value(), 0, 0);
  without.train();
  CHECK_FALSE(without.forward(x).has_aux());  // no heads: the main logits in training mode too
}

TEST_CASE("aux_step's two backward passes give the gradient of main + 0.3 (aux1 + aux2)") {
  tg::manual_seed(3);
  AuxNet model({.convs_per_stage = 1, .dropout_aux = 0});  // no dropout: both passes see the same heads
  const tg::Variable x = batch(3);
  const tg::Labels labels = {0, 3, 5, 9};
  const auto& convs = model.convs();
  const std::vector<tg::Variable> watched = {convs.front()->weight, convs.back()->weight};
  const auto step = tg::examples::aux_step(model, x, labels, 0.3, watched);
  const tg::Tensor first = convs.front()->weight.grad(), last = convs.back()->weight.grad();

  model.zero_grad();
  const AuxNetOutputs out = model.forward(x);
  const tg::Variable loss = tg::cross_entropy(out.logits, labels) +
                            (tg::cross_entropy(out.aux1, labels) + tg::cross_entropy(out.aux2, labels)) * 0.3f;
  loss.backward();
  CHECK(step.main_loss + step.aux_loss == doctest::Approx(loss.item()).epsilon(1e-5));
  tg::test::check_close(first, convs.front()->weight.grad(), 1e-7, 1e-4);
  tg::test::check_close(last, convs.back()->weight.grad(), 1e-7, 1e-4);
  // The heads reach the stem but not the last stage: only the stem's gradient changes.
  CHECK(step.grad_total[0] == doctest::Approx(tg::examples::frobenius_norm(first)));
  CHECK(step.grad_total[0] != doctest::Approx(step.grad_main[0]));
  CHECK(step.grad_total[1] == doctest::Approx(step.grad_main[1]));
}

TEST_CASE("AuxNet explains a wrong input") {
  AuxNet model({.convs_per_stage = 1});
  CHECK_THROWS_WITH_AS(model.forward(tg::Variable(tg::zeros({2, 3, 28, 28}).value())),
                       doctest::Contains("AuxNet: expected input [N, 1, H >= 8, W >= 8], got [2, 3, 28, 28]"),
                       tg::Error);
  CHECK_THROWS_AS(AuxNet({.convs_per_stage = 0}), tg::Error);
}

TEST_CASE("auxiliary_losses trains both networks, their losses fall, and it draws its plots") {
  const fs::path out = tg::test::temp_dir("example_auxiliary_losses");
  auto r = tg::test::run("auxiliary_losses", "--data fashion-mnist:" + tg::test::tiny_fashion_mnist().string() +
                                                 " --convs-per-stage 1 --epochs 3 --batch-size 16 --threads 1 --out " +
                                                 out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* file : {"test_accuracy.png", "gradient_norms.png", "gradient_profile.png"})
    CHECK_MESSAGE(fs::file_size(out / file) > 0, file);
  for (const char* file : {"metrics_with_aux.csv", "metrics_without_aux.csv"}) {
    const auto rows = read_rows(out / file);  // epoch, train_main_loss, ...
    REQUIRE(rows.size() == 3);
    CHECK_MESSAGE(rows[2][1] < rows[0][1] - 0.5, file);
  }
  const auto with = read_rows(out / "metrics_with_aux.csv");
  CHECK(with[0][2] > 0);  // the auxiliary losses were trained
  CHECK(read_rows(out / "metrics_without_aux.csv")[0][2] == 0);
  CHECK(read_rows(out / "gradient_profile.csv").size() == 4);
  CHECK(r.output.find("final test accuracy") != std::string::npos);
}

// Learning-rate schedulers against PyTorch's numbers (tests/optim/golden), their errors, and
// their state round trip.
#include <functional>
#include <map>

#include "optim_test_util.hpp"

using namespace tg;
using namespace tg::optim;
namespace golden = tg::test::golden;

namespace {

// Two groups (lr 0.1 and 0.05), as make_golden.py's scheduler_optimizer.
struct Setup {
  Variable p0{Tensor::from_shape({2}), true}, p1{Tensor::from_shape({2}), true};
  std::unique_ptr<Optimizer> opt;
  std::vector<std::unique_ptr<LRScheduler>> parts;  // SequentialLR's schedulers
  std::unique_ptr<LRScheduler> sched;

  explicit Setup(const std::string& kind) {
    if (kind == "SGD")
      opt = std::make_unique<SGD>(std::vector<SGD::Group>{{{p0}, {.lr = 0.1}}, {{p1}, {.lr = 0.05}}},
                                  SGDOptions{.lr = 0.1, .momentum = 0.9});
    else
      opt = std::make_unique<Adam>(std::vector<Adam::Group>{{{p0}, {.lr = 0.1}}, {{p1}, {.lr = 0.05}}},
                                   AdamOptions{.lr = 0.1});
  }
  template <class S, class... Args>
  LRScheduler& part(Args&&... args) {
    parts.push_back(std::make_unique<S>(*opt, std::forward<Args>(args)...));
    return *parts.back();
  }
};

using Builder = std::function<std::unique_ptr<LRScheduler>(Setup&)>;

// The C++ side of make_golden.py's SCHED_CASES, by name.
const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = {
      {"steplr", [](Setup& s) { return std::make_unique<StepLR>(*s.opt, 3, 0.5); }},
      {"multisteplr", [](Setup& s) {
         return std::make_unique<MultiStepLR>(*s.opt, std::vector<std::int64_t>{2, 5, 5, 9}, 0.3); }},
      {"exponentiallr", [](Setup& s) { return std::make_unique<ExponentialLR>(*s.opt, 0.9); }},
      {"cosine", [](Setup& s) { return std::make_unique<CosineAnnealingLR>(*s.opt, 10, 0.001); }},
      {"cosine_default", [](Setup& s) { return std::make_unique<CosineAnnealingLR>(*s.opt, 7); }},
      {"linearlr_default", [](Setup& s) { return std::make_unique<LinearLR>(*s.opt); }},
      {"linearlr", [](Setup& s) {
         return std::make_unique<LinearLR>(
             *s.opt, LinearLROptions{.start_factor = 0.1, .end_factor = 0.9, .total_iters = 4}); }},
      {"onecycle_sgd", [](Setup& s) {
         return std::make_unique<OneCycleLR>(*s.opt, std::vector<double>{1.0, 0.5}, 20); }},
      {"onecycle_adam_three_phase_linear", [](Setup& s) {
         return std::make_unique<OneCycleLR>(
             *s.opt, 0.01, 25,
             OneCycleLROptions{.pct_start = 0.25, .anneal_strategy = "linear", .three_phase = true}); }},
      {"onecycle_no_momentum", [](Setup& s) {
         return std::make_unique<OneCycleLR>(
             *s.opt, 0.1, 10,
             OneCycleLROptions{.cycle_momentum = false, .div_factor = 10.0, .final_div_factor = 100.0}); }},
      {"sequential_warmup_cosine", [](Setup& s) {
         auto& warmup = s.part<LinearLR>(LinearLROptions{.start_factor = 0.1, .total_iters = 5});
         auto& cosine = s.part<CosineAnnealingLR>(15, 1e-4);
         return std::make_unique<SequentialLR>(
             *s.opt, std::vector<std::reference_wrapper<LRScheduler>>{warmup, cosine},
             std::vector<std::int64_t>{5}); }},
      {"sequential_three", [](Setup& s) {
         auto& a = s.part<ExponentialLR>(0.9);
         auto& b = s.part<StepLR>(2, 0.5);
         auto& c = s.part<LinearLR>(LinearLROptions{.start_factor = 0.5, .total_iters = 3});
         return std::make_unique<SequentialLR>(
             *s.opt, std::vector<std::reference_wrapper<LRScheduler>>{a, b, c},
             std::vector<std::int64_t>{3, 8}); }},
      {"plateau_min", [](Setup& s) {
         return std::make_unique<ReduceLROnPlateau>(
             *s.opt, ReduceLROnPlateauOptions{.factor = 0.5, .patience = 2}); }},
      {"plateau_max_abs_cooldown", [](Setup& s) {
         return std::make_unique<ReduceLROnPlateau>(
             *s.opt, ReduceLROnPlateauOptions{.mode = "max", .factor = 0.3, .patience = 1,
                                              .threshold = 0.1, .threshold_mode = "abs",
                                              .cooldown = 2, .min_lrs = {0.01, 0.02}}); }},
  };
  return table;
}

void advance(Setup& s, const golden::SchedulerGolden& c, std::size_t step) {
  s.opt->step();
  if (c.metrics.empty()) s.sched->step();
  else static_cast<ReduceLROnPlateau&>(*s.sched).step(c.metrics[step - 1]);
}

// PyTorch's doubles, up to the last bits FMA contraction may change.
void check_rates(const std::vector<double>& actual, const std::array<double, 2>& expected,
                 const char* what, std::size_t step) {
  REQUIRE(actual.size() == 2);
  for (int g = 0; g < 2; ++g)
    CHECK_MESSAGE(actual[g] == doctest::Approx(expected[g]).epsilon(1e-12),
                  what, " of group ", g, " at step ", step);
}

}  // namespace

TEST_CASE("schedulers match PyTorch's learning rates and momenta step by step") {
  REQUIRE(golden::kSchedulerGolden.size() == builders().size());
  for (const auto& c : golden::kSchedulerGolden) {
    INFO("case ", std::string(c.name));
    Setup s(c.optimizer);
    s.sched = builders().at(c.name)(s);
    for (std::size_t step = 0; step < c.lrs.size(); ++step) {
      if (step > 0) advance(s, c, step);
      check_rates(s.opt->lrs(), c.lrs[step], "lr", step);
      check_rates(s.sched->get_last_lr(), c.lrs[step], "get_last_lr", step);
      const std::vector<double> momenta{s.opt->momentum(0), s.opt->momentum(1)};
      check_rates(momenta, c.momenta[step], "momentum", step);
    }
    CHECK(s.sched->last_epoch() == static_cast<std::int64_t>(c.lrs.size() - 1));
  }
}

TEST_CASE("scheduler state round trip: a resumed schedule continues with the same rates") {
  for (const auto& c : golden::kSchedulerGolden) {
    INFO("case ", std::string(c.name));
    const std::size_t half = c.lrs.size() / 2;
    Setup straight(c.optimizer), first(c.optimizer), resumed(c.optimizer);
    straight.sched = builders().at(c.name)(straight);
    first.sched = builders().at(c.name)(first);
    for (std::size_t step = 1; step <= half; ++step) {
      advance(straight, c, step);
      advance(first, c, step);
    }
    const auto opt_state = first.opt->state_dict();
    const auto sched_state = first.sched->state_dict();
    resumed.sched = builders().at(c.name)(resumed);
    resumed.opt->load_state_dict(opt_state);
    resumed.sched->load_state_dict(sched_state);
    CHECK(resumed.sched->last_epoch() == straight.sched->last_epoch());
    CHECK(resumed.sched->get_last_lr() == straight.sched->get_last_lr());
    for (std::size_t step = half + 1; step < c.lrs.size(); ++step) {
      advance(straight, c, step);
      advance(resumed, c, step);
      CHECK(resumed.opt->lrs() == straight.opt->lrs());  // bit for bit
      CHECK(resumed.opt->momentum(0) == straight.opt->momentum(0));
    }
  }
}

TEST_CASE("scheduler state is plain metadata naming the scheduler") {
  Setup s("SGD");
  CosineAnnealingLR cosine(*s.opt, 10);
  cosine.step();
  const auto state = cosine.state_dict();
  CHECK(state.tensors.empty());
  CHECK(state.metadata.at("scheduler") == "CosineAnnealingLR");
  CHECK(state.metadata.at("last_epoch") == "1");
  CHECK(state.metadata.at("base_lrs") == "0.1,0.05");
  StepLR other(*s.opt, 2);
  CHECK_THROWS_WITH_AS(other.load_state_dict(state),
                       doctest::Contains("expected the state of a StepLR, got that of a CosineAnnealingLR"),
                       tg::Error);
}

// PyTorch's `cosine.T_max = 6` after 4 of 10 steps: its recursive form, worked by hand
// (l4 = eta_min + (base - eta_min)(1 + cos(4 pi / 10)) / 2, then
// l_e = (1 + cos(e pi / 6)) / (1 + cos((e - 1) pi / 6)) (l_(e-1) - eta_min) + eta_min).
TEST_CASE("CosineAnnealingLR given a new T_max mid-run continues from its rate to eta_min there") {
  Setup s("SGD");
  CosineAnnealingLR cosine(*s.opt, 10, 0.001);
  for (int i = 0; i < 4; ++i) cosine.step();
  CHECK(s.opt->lr(0) == doctest::Approx(0.0657963412215599).epsilon(1e-12));
  cosine.set_T_max(6);
  CHECK(cosine.T_max() == 6);
  CHECK(s.opt->lr(0) == doctest::Approx(0.0657963412215599).epsilon(1e-12));  // no jump
  cosine.step();
  CHECK(s.opt->lr(0) == doctest::Approx(0.01836212730280843).epsilon(1e-12));
  CHECK(s.opt->lr(1) == doctest::Approx(0.00959337613977387).epsilon(1e-12));
  cosine.step();
  CHECK(s.opt->lr(0) == doctest::Approx(0.001).epsilon(1e-12));
  CHECK(s.opt->lr(1) == doctest::Approx(0.001).epsilon(1e-12));
  CHECK_THROWS_WITH_AS(cosine.set_T_max(0), doctest::Contains("set_T_max: expected T_max >= 1, got 0"), tg::Error);

  // The state carries T_max, as PyTorch's does; one saved without it keeps the constructor's.
  auto state = cosine.state_dict();
  CHECK(state.metadata.at("T_max") == "6");
  Setup t("SGD");
  CosineAnnealingLR resumed(*t.opt, 10, 0.001);
  resumed.load_state_dict(state);
  CHECK(resumed.T_max() == 6);
  state.metadata.erase("T_max");
  CosineAnnealingLR older(*t.opt, 10, 0.001);
  older.load_state_dict(state);
  CHECK(older.T_max() == 10);
  state.metadata["T_max"] = "0";
  state.metadata["last_epoch"] = "3";
  CHECK_THROWS_WITH_AS(older.load_state_dict(state), doctest::Contains("expected 'T_max' in [1, 2^53], got 0"), tg::Error);
  CHECK(older.last_epoch() == 6);  // a bad T_max changes nothing
}

TEST_CASE("scheduler errors") {
  Setup s("SGD");
  CHECK_THROWS_WITH_AS(StepLR(*s.opt, 0), doctest::Contains("StepLR: expected step_size >= 1"), tg::Error);
  CHECK_THROWS_WITH_AS(CosineAnnealingLR(*s.opt, 0), doctest::Contains("expected T_max >= 1"), tg::Error);
  CHECK_THROWS_WITH_AS(LinearLR(*s.opt, {.start_factor = 0}),
                       doctest::Contains("LinearLR: expected start_factor in (0, 1]"), tg::Error);
  CHECK_THROWS_WITH_AS(LinearLR(*s.opt, {.end_factor = 1.5}),
                       doctest::Contains("expected end_factor in [0, 1]"), tg::Error);
  CHECK_THROWS_WITH_AS(OneCycleLR(*s.opt, 0.1, 0), doctest::Contains("expected total_steps > 0"), tg::Error);
  CHECK_THROWS_WITH_AS(OneCycleLR(*s.opt, 0.1, 10, {.anneal_strategy = "cosine"}),
                       doctest::Contains("expected anneal_strategy"), tg::Error);
  CHECK_THROWS_WITH_AS(OneCycleLR(*s.opt, std::vector<double>{0.1}, 10),
                       doctest::Contains("expected 2 max_lr values"), tg::Error);
  CHECK_THROWS_WITH_AS(ReduceLROnPlateau(*s.opt, {.mode = "avg"}),
                       doctest::Contains("expected mode \"min\" or \"max\""), tg::Error);
  CHECK_THROWS_WITH_AS(ReduceLROnPlateau(*s.opt, {.factor = 1.0}),
                       doctest::Contains("expected factor in [0, 1)"), tg::Error);
  CHECK_THROWS_WITH_AS(ReduceLROnPlateau(*s.opt, {.min_lrs = {0.1}}),
                       doctest::Contains("expected 2 min_lrs"), tg::Error);
  ReduceLROnPlateau plateau(*s.opt);
  LRScheduler& base = plateau;
  CHECK_THROWS_WITH_AS(base.step(), doctest::Contains("expected step(metric)"), tg::Error);
}

TEST_CASE("OneCycleLR refuses to step past total_steps") {
  Setup s("SGD");
  OneCycleLR schedule(*s.opt, 0.1, 3);
  for (int i = 0; i < 3; ++i) schedule.step();
  CHECK_THROWS_WITH_AS(schedule.step(), doctest::Contains("OneCycleLR: expected at most total_steps = 3 steps, got step 5"),
                       tg::Error);
}

TEST_CASE("SequentialLR checks its schedulers and milestones") {
  Setup s("SGD"), other("SGD");
  LinearLR warmup(*s.opt);
  CosineAnnealingLR cosine(*s.opt, 10);
  CosineAnnealingLR foreign(*other.opt, 10);
  using List = std::vector<std::reference_wrapper<LRScheduler>>;
  CHECK_THROWS_WITH_AS(SequentialLR(*s.opt, List{warmup, cosine}, {}),
                       doctest::Contains("expected 1 milestones"), tg::Error);
  CHECK_THROWS_WITH_AS(SequentialLR(*s.opt, List{warmup, foreign}, {5}),
                       doctest::Contains("expected schedulers of the same optimizer"), tg::Error);
  ReduceLROnPlateau plateau(*s.opt);
  CHECK_THROWS_WITH_AS(SequentialLR(*s.opt, List{warmup, plateau}, {5}),
                       doctest::Contains("expected epoch-driven schedulers"), tg::Error);
}

TEST_CASE("a scheduler refuses an optimizer that gained groups after it was built") {
  Setup s("SGD");
  StepLR schedule(*s.opt, 1);
  Variable extra(Tensor::from_shape({1}), true);
  static_cast<SGD&>(*s.opt).add_param_group({{extra}});
  CHECK_THROWS_WITH_AS(schedule.step(), doctest::Contains("create schedulers after adding parameter groups"),
                       tg::Error);
}

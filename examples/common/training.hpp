#pragma once
// What every example's training loop shares: evaluation, a progress display, metrics files.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/data/data.hpp>

namespace tg::examples {

/// Loss and accuracy over a loader, with the confusion matrix and the per-sample predictions.
struct Evaluation {
  double loss = 0, accuracy = 0;
  std::vector<std::vector<long>> confusion;  ///< [true][predicted]
  std::vector<std::int64_t> predicted, truth;
};

/// Runs `model` (in eval mode, under NoGradGuard) over every batch of `loader`.
Evaluation evaluate(const std::function<Variable(const Variable&)>& model, data::DataLoader& loader,
                    int classes);

/// Number of correct predictions of logits [N, C] against labels [N].
std::int64_t count_correct(const Tensor& logits, const Labels& labels);

/// A progress bar with loss, accuracy, images/s and ETA on a terminal; a log line every tenth
/// of the epoch otherwise (so that logs stay readable).
class Progress {
 public:
  Progress(std::string title, std::size_t total_batches);
  /// After each batch: its size, loss and correct predictions.
  void update(std::size_t batch_size, double loss, std::int64_t correct);
  /// Ends the line; returns mean loss, accuracy, images/s.
  void finish();
  double mean_loss() const { return seen_ ? loss_sum_ / double(seen_) : 0; }
  double accuracy() const { return seen_ ? double(correct_) / double(seen_) : 0; }
  double images_per_second() const;

 private:
  void draw(bool final) const;
  std::string title_;
  std::size_t total_, done_ = 0, seen_ = 0;
  std::int64_t correct_ = 0;
  double loss_sum_ = 0;
  bool terminal_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// What a training loop does with a batch whose loss or gradients are NaN or Inf.
enum class OnNonFinite { Stop, Skip };

/// Parses "stop" or "skip"; throws tg::Error naming the option otherwise.
OnNonFinite parse_on_nonfinite(const std::string& text);

/// Keeps NaN/Inf out of the weights: call after backward and before the optimizer's step.
/// A finite loss with finite gradients passes. Otherwise Stop throws a tg::Error naming the
/// epoch and step and suggesting a lower learning rate or --detect-anomaly; Skip prints a
/// warning and says to skip the step (and throws after `max_skips_in_a_row` bad batches).
class NonFiniteCheck {
 public:
  explicit NonFiniteCheck(OnNonFinite policy, int max_skips_in_a_row = 10)
      : policy_(policy), max_skips_(max_skips_in_a_row) {}
  /// true: step on this batch; false: skip it (Skip only). epoch and step count from 1.
  bool usable(double loss, const std::vector<Variable>& parameters, int epoch, std::size_t step);
  /// Batches skipped so far.
  std::size_t skipped() const { return skipped_; }

 private:
  OnNonFinite policy_;
  int max_skips_;
  int in_a_row_ = 0;
  std::size_t skipped_ = 0;
};

/// Appends one line to a CSV file, writing `header` first when the file is new.
void append_csv(const std::filesystem::path& path, const std::string& header, const std::string& line);

/// Rows of a CSV written by append_csv (header skipped), split on commas. Throws tg::Error
/// naming the file and line for a cell that is not a number or a row of fewer than `min_columns`
/// (a line cut short when a run was killed mid-write, or a hand edit).
std::vector<std::vector<double>> read_csv(const std::filesystem::path& path, std::size_t min_columns);

/// A table of per-class accuracy from a confusion matrix.
std::string per_class_table(const std::vector<std::vector<long>>& confusion,
                            const std::vector<std::string>& class_names);

}  // namespace tg::examples

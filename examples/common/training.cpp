#include "examples/common/training.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <tapegrad/autograd/autograd.hpp>

namespace tg::examples {

std::int64_t count_correct(const Tensor& logits, const Labels& labels) {
  const Labels predicted = argmax(logits, 1);
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted(i) == labels(i);
  return correct;
}

Evaluation evaluate(const std::function<Variable(const Variable&)>& model, data::DataLoader& loader,
                    int classes) {
  NoGradGuard no_grad;
  Evaluation e;
  e.confusion.assign(std::size_t(classes), std::vector<long>(std::size_t(classes), 0));
  double loss_sum = 0;
  std::int64_t correct = 0;
  for (const auto& batch : loader) {
    const Variable logits = model(batch.data);
    const auto n = batch.target.size();
    loss_sum += double(cross_entropy(logits, batch.target).item()) * double(n);
    const Labels predicted = argmax(logits.value(), 1);
    for (std::size_t i = 0; i < n; ++i) {
      e.predicted.push_back(predicted(i));
      e.truth.push_back(batch.target(i));
      ++e.confusion[std::size_t(batch.target(i))][std::size_t(predicted(i))];
      correct += predicted(i) == batch.target(i);
    }
  }
  const double total = double(e.truth.size());
  e.loss = total ? loss_sum / total : 0;
  e.accuracy = total ? double(correct) / total : 0;
  return e;
}

Progress::Progress(std::string title, std::size_t total_batches)
    : title_(std::move(title)), total_(total_batches), terminal_(isatty(STDOUT_FILENO) != 0) {}

double Progress::images_per_second() const {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return s > 0 ? double(seen_) / s : 0;
}

void Progress::update(std::size_t batch_size, double loss, std::int64_t correct) {
  ++done_;
  seen_ += batch_size;
  loss_sum_ += loss * double(batch_size);
  correct_ += correct;
  const std::size_t tenth = std::max<std::size_t>(total_ / 10, 1);
  if (terminal_ || done_ % tenth == 0 || done_ == total_) draw(false);
}

void Progress::finish() {
  draw(true);
  if (terminal_) std::printf("\n");
  std::fflush(stdout);
}

void Progress::draw(bool final) const {
  const double rate = images_per_second();
  const double per_batch = done_ ? double(seen_) / double(done_) : 0;
  const double eta = rate > 0 ? double(total_ - done_) * per_batch / rate : 0;
  std::ostringstream line;
  line << title_ << " " << done_ << "/" << total_ << " loss " << std::fixed << std::setprecision(4)
       << mean_loss() << " acc " << std::setprecision(2) << 100 * accuracy() << "% "
       << std::setprecision(0) << rate << " img/s";
  if (!final) line << " ETA " << int(eta) / 60 << "m" << std::setw(2) << std::setfill('0') << int(eta) % 60 << "s";
  if (terminal_) {
    const int width = 24, filled = total_ ? int(width * done_ / total_) : width;
    std::printf("\r[%s%s] %s\033[K", std::string(filled, '#').c_str(),
                std::string(width - filled, '.').c_str(), line.str().c_str());
  } else if (!final) {
    std::printf("%s\n", line.str().c_str());
  }
  std::fflush(stdout);
}

OnNonFinite parse_on_nonfinite(const std::string& text) {
  if (text == "stop") return OnNonFinite::Stop;
  TG_CHECK(text == "skip", "--on-nonfinite: expected stop or skip, got '", text, "'");
  return OnNonFinite::Skip;
}

namespace {
// The first parameter whose gradient holds NaN/Inf, or -1.
std::ptrdiff_t first_nonfinite_grad(const std::vector<Variable>& parameters) {
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i].has_grad()) continue;
    for (float g : parameters[i].grad())
      if (!std::isfinite(g)) return std::ptrdiff_t(i);
  }
  return -1;
}
}  // namespace

bool NonFiniteCheck::usable(double loss, const std::vector<Variable>& parameters, int epoch,
                            std::size_t step) {
  const bool loss_ok = std::isfinite(loss);
  const std::ptrdiff_t bad_grad = loss_ok ? first_nonfinite_grad(parameters) : -1;
  if (loss_ok && bad_grad < 0) {
    in_a_row_ = 0;
    return true;
  }
  std::ostringstream what;
  what << "epoch " << epoch << ", step " << step << ": ";
  if (!loss_ok)
    what << "the loss is " << loss;
  else
    what << "the gradient of parameter " << bad_grad << " (shape "
         << shape_str(parameters[std::size_t(bad_grad)].shape()) << ") holds NaN/Inf";
  const std::string advice =
      " (the run is diverging: try a lower --lr or more --warmup-epochs; rerun with "
      "--detect-anomaly to find the op that made the first NaN/Inf)";
  TG_CHECK(policy_ == OnNonFinite::Skip, what.str(), advice,
           "; stopped before the weights took it (--on-nonfinite skip skips such batches)");
  ++skipped_;
  TG_CHECK(++in_a_row_ <= max_skips_, what.str(), ": ", max_skips_,
           " batches in a row were non-finite, giving up", advice);
  std::fprintf(stderr, "\nwarning: %s; skipping this batch (%zu skipped so far)\n",
               what.str().c_str(), skipped_);
  return false;
}

void append_csv(const std::filesystem::path& path, const std::string& header, const std::string& line) {
  const bool fresh = !std::filesystem::exists(path);
  std::ofstream out(path, std::ios::app);
  if (fresh) out << header << "\n";
  out << line << "\n";
}

std::vector<std::vector<double>> read_csv(const std::filesystem::path& path, std::size_t min_columns) {
  std::vector<std::vector<double>> rows;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  for (int number = 2; std::getline(in, line); ++number) {
    std::vector<double> row;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) {
      double value = 0;
      const auto parsed = std::from_chars(cell.data(), cell.data() + cell.size(), value);
      TG_CHECK(!cell.empty() && parsed.ec == std::errc() && parsed.ptr == cell.data() + cell.size(), "read_csv: ",
               path.string(), " line ", number, ": expected a number, got '", cell.substr(0, 40),
               "' (edited, or not written by this program: fix or delete the line)");
      row.push_back(value);
    }
    TG_CHECK(row.size() >= min_columns, "read_csv: ", path.string(), " line ", number, ": expected at least ",
             min_columns, " numbers, got ", row.size(), " (cut short when a run was stopped mid-write: delete the line)");
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string per_class_table(const std::vector<std::vector<long>>& confusion,
                            const std::vector<std::string>& class_names) {
  std::ostringstream out;
  out << std::left << std::setw(14) << "class" << std::right << std::setw(8) << "correct"
      << std::setw(8) << "total" << std::setw(10) << "accuracy\n";
  for (std::size_t t = 0; t < confusion.size(); ++t) {
    long total = 0;
    for (long c : confusion[t]) total += c;
    const double acc = total ? 100.0 * double(confusion[t][t]) / double(total) : 0;
    out << std::left << std::setw(14) << class_names[t] << std::right << std::setw(8)
        << confusion[t][t] << std::setw(8) << total << std::setw(9) << std::fixed
        << std::setprecision(1) << acc << "%\n";
  }
  return out.str();
}

}  // namespace tg::examples

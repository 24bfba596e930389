// The examples' metrics.csv read back for the curves: numbers as written, and a damaged file (a
// line cut short when a run was killed mid-write, a hand edit) refused with the file and line
// rather than read past the end of a row.
#include <fstream>

#include "examples/common/training.hpp"
#include "examples/example_util.hpp"

namespace E = tg::examples;

namespace {

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path path = tg::test::temp_dir("metrics_csv") / name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const fs::path& path, std::size_t min_columns) {
  try {
    E::read_csv(path, min_columns);
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("read_csv reads append_csv's rows back as numbers, header skipped") {
  const fs::path path = tg::test::temp_dir("metrics_csv") / "written.csv";
  fs::remove(path);
  E::append_csv(path, "epoch,loss,accuracy", "1,0.5,0.875");
  E::append_csv(path, "epoch,loss,accuracy", "2,-1.25e-3,1");
  const auto rows = E::read_csv(path, 3);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::vector<double>{1, 0.5, 0.875});
  CHECK(rows[1] == std::vector<double>{2, -1.25e-3, 1});
}

TEST_CASE("read_csv names the file and line of a cell that is not a number or a row cut short") {
  const fs::path words = write_file("words.csv", "epoch,loss\n1,0.5\n2,lots\n");
  CHECK(error_of(words, 2) == "read_csv: " + words.string() +
                                  " line 3: expected a number, got 'lots' (edited, or not written by "
                                  "this program: fix or delete the line)");
  const fs::path empty_cell = write_file("empty_cell.csv", "epoch,loss\n1,,0.5\n");
  CHECK(error_of(empty_cell, 2).find(" line 2: expected a number, got ''") != std::string::npos);
  const fs::path cut = write_file("cut.csv", "epoch,loss,accuracy\n1,0.5,0.8\n2,0.4\n");
  CHECK(error_of(cut, 3) == "read_csv: " + cut.string() +
                                " line 3: expected at least 3 numbers, got 2 (cut short when a run was "
                                "stopped mid-write: delete the line)");
  CHECK(E::read_csv(cut, 2).size() == 2);
}

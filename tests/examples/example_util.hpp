#pragma once
// What the example programs' smoke tests share: a tiny generated dataset (IDX files in the
// Fashion-MNIST layout whose classes are easy to tell apart) and running a built program. Each
// example has a test file of its own, so that CTest runs them side by side.
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "test_util.hpp"

namespace fs = std::filesystem;

namespace tg::test {

inline void put_u32(std::ofstream& out, std::uint32_t v) {
  const unsigned char bytes[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                                  static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  out.write(reinterpret_cast<const char*>(bytes), 4);
}

// Class k is a bright 6x6 patch at a position of its own, on faint noise.
inline void write_split(const fs::path& dir, const std::string& prefix, std::uint32_t count, std::uint64_t seed) {
  std::ofstream images(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream labels(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  put_u32(images, 0x803), put_u32(images, count), put_u32(images, 28), put_u32(images, 28);
  put_u32(labels, 0x801), put_u32(labels, count);
  tg::Generator gen(seed);
  for (std::uint32_t i = 0; i < count; ++i) {
    const int label = int(i % 10), top = 2 + (label / 5) * 12, left = 1 + (label % 5) * 5;
    std::array<unsigned char, 28 * 28> pixels{};
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const bool on = y >= top && y < top + 6 && x >= left && x < left + 6;
        pixels[std::size_t(y * 28 + x)] = static_cast<unsigned char>(on ? 200 + gen.below(55) : gen.below(40));
      }
    images.write(reinterpret_cast<const char*>(pixels.data()), pixels.size());
    const char l = static_cast<char>(label);
    labels.write(&l, 1);
  }
}

// Per test program, so that test files running at once do not write the same folder.
inline fs::path tiny_fashion_mnist() {
  static const fs::path dir = [] {
    fs::path d = tg::test::temp_dir("examples_data_" + std::to_string(::getpid()));
    write_split(d, "train", 640, 1);
    write_split(d, "t10k", 200, 2);
    return d;
  }();
  return dir;
}

struct RunResult {
  int exit_code;
  std::string output;
};

inline RunResult run(const std::string& program, const std::string& args) {
  // Appended piece by piece: chained operator+ here draws a false -Warray-bounds from GCC 12.
  std::string command = TAPEGRAD_EXAMPLES_DIR;
  command.append("/").append(program).append(" ").append(args).append(" 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  RunResult r{0, ""};
  std::array<char, 4096> buffer;
  while (std::fgets(buffer.data(), int(buffer.size()), pipe)) r.output += buffer.data();
  r.exit_code = pclose(pipe);
  return r;
}

// A file's bytes (to compare two checkpoints bit for bit).
inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// metrics.csv's rows after the header, as numbers.
inline std::vector<std::vector<double>> csv_rows(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<double>> rows;
  std::string line, cell;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    rows.emplace_back();
    while (std::getline(cells, cell, ',')) rows.back().push_back(std::stod(cell));
  }
  return rows;
}

// The numbers following `key` on each line of `text` that contains it.
inline std::vector<double> values_after(const std::string& text, const std::string& key) {
  std::vector<double> values;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(key);
    if (at != std::string::npos) values.push_back(std::stod(line.substr(at + key.size())));
  }
  return values;
}

}  // namespace tg::test


#pragma once
// Helpers of the fuzz targets: the readers under test take paths, so each input is written to
// a file in a private folder first. A tg::Error is the expected answer to a bad file; any
// other exception escapes and libFuzzer reports it as a crash (a stray exception type is a bug).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace tg_fuzz {

/// A folder of this process's own (tmpfs when there is one: inputs are written thousands of
/// times a second).
inline const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path shm = "/dev/shm";
    const auto base = std::filesystem::is_directory(shm) ? shm
                                                         : std::filesystem::temp_directory_path();
    auto d = base / ("tapegrad_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes size bytes to work_dir() / name and returns the path.
inline std::filesystem::path write_input(const std::string& name, const std::uint8_t* data,
                                         std::size_t size) {
  const auto path = work_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace tg_fuzz

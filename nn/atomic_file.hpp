#pragma once
// A file written whole or not at all (what write_safetensors and checkpoints write through).
#include <cstddef>
#include <filesystem>
#include <string>

namespace tg::nn::detail {

/// Writes go to an unnamed file (O_TMPFILE) in the target's folder, which commit() links in
/// under a temporary name and renames over the target: a writer killed before commit() leaves
/// nothing behind, the target keeps its old content until the rename. Where the filesystem
/// has no O_TMPFILE, the file is named from the start (".<name>.tg-tmp.<pid>.<n>") and removed
/// on any error; each new AtomicFile for the same target removes such names whose process is
/// gone (writers killed with SIGKILL). A target that is a symbolic link is written through:
/// the file it points to is replaced, the link stays. An existing target's mode is kept.
class AtomicFile {
 public:
  /// `op` prefixes every error message ("write_safetensors").
  AtomicFile(const std::filesystem::path& path, std::string op);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t n);
  /// Flushes to disk and replaces the target; throws tg::Error on failure.
  void commit();

  /// How the temporary names for a target named `target_name` begin (".<name>.tg-tmp."; a name
  /// over 150 bytes is cut and a hash of it added, so that "<prefix><pid>.<n>" fits NAME_MAX).
  static std::string temporary_prefix(const std::string& target_name);

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void open_named();
  void remove_stale() const;

  std::filesystem::path path_, target_, dir_, tmp_;
  std::string op_;
  int fd_ = -1;
  bool anonymous_ = false, linked_ = false, committed_ = false;
};

/// Follows `path` while it is a symbolic link (relative links from the link's folder); throws
/// tg::Error past 40 links (a loop). A dangling link gives the path it points to.
std::filesystem::path resolve_links(const std::filesystem::path& path, const std::string& op);

}  // namespace tg::nn::detail

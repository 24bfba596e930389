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
///
/// A target that is not a regular file is written into, never replaced: a named pipe, a
/// character or block device (/dev/null), and a descriptor named by /dev/stdout, /dev/stderr,
/// /dev/fd/N or /proc/self/fd/N (that descriptor itself is written, at its offset and with its
/// O_APPEND: saving to /dev/stdout while stdout goes to a log appends to the log). Such a
/// stream cannot be written whole or not at all: a failed write (a full device, a reader gone)
/// is a tg::Error after whatever bytes went through, never a SIGPIPE.
class AtomicFile {
 public:
  /// `op` prefixes every error message ("write_safetensors").
  AtomicFile(const std::filesystem::path& path, std::string op);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends `n` bytes; throws tg::Error when they cannot all be written (a full disk).
  void write(const void* data, std::size_t n);
  /// Whether the target is a stream written in place (see above), not a file replaced.
  bool writes_through() const { return through_; }
  /// Flushes to disk and replaces the target; throws tg::Error on failure.
  void commit();

  /// How the temporary names for a target named `target_name` begin (".<name>.tg-tmp."; a name
  /// over 150 bytes is cut and a hash of it added, so that "<prefix><pid>.<n>" fits NAME_MAX).
  static std::string temporary_prefix(const std::string& target_name);

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void open_named();
  void open_through(int fd);
  void remove_stale() const;

  std::filesystem::path path_, target_, dir_, tmp_;
  std::string op_;
  int fd_ = -1;
  bool anonymous_ = false, linked_ = false, committed_ = false, through_ = false;
};

/// Follows `path` while it is a symbolic link (relative links from the link's folder); throws
/// tg::Error past 40 links (a loop). A dangling link gives the path it points to. It stops at
/// a descriptor's name (/proc/self/fd/N, /dev/fd/N), whose link names the open file only.
std::filesystem::path resolve_links(const std::filesystem::path& path, const std::string& op);

/// The descriptor N that `path` names as /proc/self/fd/N, /proc/<this pid>/fd/N, /dev/fd/N,
/// /dev/stdin, /dev/stdout or /dev/stderr; -1 for any other path.
int descriptor_path(const std::filesystem::path& path);

}  // namespace tg::nn::detail

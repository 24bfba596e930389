#include "tapegrad/nn/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <string_view>

#include "tapegrad/autograd/error.hpp"

namespace tg::nn::detail {
namespace {

std::atomic<unsigned> counter{0};

// /proc/self/fd names the unnamed file for linkat; without /proc it cannot be linked in.
bool can_link_unnamed() { return ::access("/proc/self/fd", X_OK) == 0; }

// The pid in "<prefix><pid>.<n>", or 0 when `name` is not one of our temporary names.
pid_t temporary_pid(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  const char* begin = name.data() + prefix.size();
  const char* end = name.data() + name.size();
  long pid = 0;
  const auto r = std::from_chars(begin, end, pid);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.' || pid <= 0) return 0;
  unsigned n = 0;
  const auto tail = std::from_chars(r.ptr + 1, end, n);
  return tail.ec == std::errc() && tail.ptr == end ? static_cast<pid_t>(pid) : 0;
}

// Writes `n` bytes to `fd` with SIGPIPE blocked on this thread, so that a pipe whose reader
// left is an EPIPE error here instead of a signal that ends the process. A SIGPIPE this write
// raised is taken off the thread's pending set before the old mask returns.
bool write_blocking_sigpipe(int fd, const char* p, std::size_t n) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  bool ok = true;
  while (n > 0) {
    const ssize_t written = ::write(fd, p, n);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      if (written == 0) errno = EIO;
      ok = false;
      break;
    }
    p += written;
    n -= static_cast<std::size_t>(written);
  }
  const int error = errno;
  if (!ok && error == EPIPE && !was_pending) {
    const timespec zero{};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = error;
  return ok;
}

}  // namespace

int descriptor_path(const std::filesystem::path& path) {
  const std::string p = path.lexically_normal().string();
  if (p == "/dev/stdin") return 0;
  if (p == "/dev/stdout") return 1;
  if (p == "/dev/stderr") return 2;
  std::string_view rest;
  for (const std::string& prefix :
       {std::string("/dev/fd/"), std::string("/proc/self/fd/"),
        "/proc/" + std::to_string(::getpid()) + "/fd/"})
    if (p.size() > prefix.size() && p.compare(0, prefix.size(), prefix) == 0)
      rest = std::string_view(p).substr(prefix.size());
  if (rest.empty()) return -1;
  int fd = -1;
  const auto r = std::from_chars(rest.data(), rest.data() + rest.size(), fd);
  return r.ec == std::errc() && r.ptr == rest.data() + rest.size() && fd >= 0 ? fd : -1;
}

std::filesystem::path resolve_links(const std::filesystem::path& path, const std::string& op) {
  std::filesystem::path p = path;
  for (int hops = 0; hops <= 40; ++hops) {
    std::error_code ec;
    // A descriptor's link names the open file (or "pipe:[N]"), not a path to reopen.
    if (descriptor_path(p) >= 0 || !std::filesystem::is_symlink(p, ec)) return p;
    const auto link = std::filesystem::read_symlink(p, ec);
    if (ec) return p;
    p = link.is_absolute() ? link : p.parent_path() / link;
  }
  throw Error(op + ": '" + path.string() + "': expected a file or a chain of symbolic links, "
              "got more than 40 links (a loop?)");
}

std::string AtomicFile::temporary_prefix(const std::string& target_name) {
  std::string name = target_name;
  if (name.size() > 150) {
    char hash[17];
    const auto r = std::to_chars(hash, hash + 16, std::hash<std::string>{}(name), 16);
    name = name.substr(0, 128) + "~" + std::string(hash, r.ptr);
  }
  return "." + name + ".tg-tmp.";
}

AtomicFile::AtomicFile(const std::filesystem::path& path, std::string op)
    : path_(path), op_(std::move(op)) {
  target_ = resolve_links(path, op_);
  if (const int n = descriptor_path(target_); n >= 0) {
    const int flags = ::fcntl(n, F_GETFL);
    if (flags < 0) fail("descriptor " + std::to_string(n) + " is not open");
    if ((flags & O_ACCMODE) == O_RDONLY) {
      errno = EBADF;
      fail("descriptor " + std::to_string(n) + " is open for reading only");
    }
    const int fd = ::fcntl(n, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) fail("cannot duplicate descriptor " + std::to_string(n));
    open_through(fd);
    return;
  }
  if (struct stat st {}; ::stat(target_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) &&
                         !S_ISDIR(st.st_mode)) {
    // A pipe, a device: written into (opening a pipe waits for its reader, as a shell's >).
    const int fd = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) fail("cannot open it for writing");
    open_through(fd);
    return;
  }
  dir_ = target_.parent_path().empty() ? std::filesystem::path(".") : target_.parent_path();
  remove_stale();
  if (can_link_unnamed()) {
    fd_ = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    anonymous_ = fd_ >= 0;
  }
  if (fd_ < 0) open_named();
  // Replacing a file keeps its permissions (as writing into it would).
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    ::fchmod(fd_, st.st_mode & 07777);
}

void AtomicFile::open_through(int fd) {
  fd_ = fd;
  through_ = true;
}

void AtomicFile::open_named() {
  tmp_ = dir_ / (temporary_prefix(target_.filename().string()) + std::to_string(::getpid()) +
                 "." + std::to_string(counter++));
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create the temporary file '" + tmp_.string() + "'");
  linked_ = true;
}

// Our own temporaries of this target whose writer is gone (killed before it could clean up).
void AtomicFile::remove_stale() const {
  DIR* dir = ::opendir(dir_.c_str());
  if (!dir) return;
  const std::string prefix = temporary_prefix(target_.filename().string());
  while (const dirent* e = ::readdir(dir)) {
    const pid_t pid = temporary_pid(e->d_name, prefix);
    if (pid == 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) ::unlinkat(::dirfd(dir), e->d_name, 0);
  }
  ::closedir(dir);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (linked_ && !committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  if (through_) {
    if (!write_blocking_sigpipe(fd_, p, n)) fail("cannot write to it");
    return;
  }
  while (n > 0) {
    const ssize_t written = ::write(fd_, p, n);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail("cannot write the temporary file");
    p += written;
    n -= static_cast<std::size_t>(written);
  }
}

void AtomicFile::commit() {
  if (through_) {
    // Pipes, terminals and character devices cannot be flushed (EINVAL): nothing to wait for.
    if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
      fail("cannot flush it");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close it");
    committed_ = true;
    return;
  }
  if (::fsync(fd_) != 0) fail("cannot flush the temporary file");
  if (anonymous_) {
    // linkat cannot replace a file: link under a temporary name, then rename that over the
    // target. Only a kill between these two calls leaves a name, which remove_stale clears.
    tmp_ = dir_ / (temporary_prefix(target_.filename().string()) + std::to_string(::getpid()) +
                   "." + std::to_string(counter++));
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp_.c_str(), AT_SYMLINK_FOLLOW) != 0)
      fail("cannot link the temporary file into '" + dir_.string() + "'");
    linked_ = true;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot close the temporary file");
  if (::rename(tmp_.c_str(), target_.c_str()) != 0)
    fail("cannot rename the temporary file over it");
  committed_ = true;
  // Make the rename itself durable; a failure here leaves a complete file, so it is ignored.
  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void AtomicFile::fail(const std::string& what) const {
  const int error = errno;
  std::string where = "'" + path_.string() + "'";
  if (target_ != path_) where += " (-> '" + target_.string() + "')";
  throw Error(op_ + ": " + where + ": " + what + ": " + std::strerror(error));
}

}  // namespace tg::nn::detail

// Writes that cannot lie (issue 36, finding 4): pipes, devices and descriptor names such as
// /dev/stdout are written into, never replaced by a regular file; a failed write is a tg::Error.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/nn/atomic_file.hpp>
#include <tapegrad/nn/nn.hpp>
#include "test_util.hpp"

using namespace tg;
using nn_test::TempDir;

namespace {

auto small_model() {
  return nn::Sequential(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::Flatten(), nn::Linear(8, 3));
}

// Everything readable from `fd` (non-blocking) until its writer closes it, or "" after 10 s
// without one: a writer that never opens the pipe is a failure, not a hang.
std::string drain(int fd) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool opened = false;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      opened = true;
    } else if (n == 0 && (opened || (p.revents & POLLHUP))) {
      break;
    }
  }
  return out;
}

bool stays_fifo(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

bool stays_char_device(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

// A file holding `bytes` read back as a state dict must equal the model's.
void check_same_state(const std::string& bytes, const nn::Module& model, const TempDir& dir) {
  const auto copy = dir / "copy.safetensors";
  nn_test::write_bytes(copy, bytes);
  const auto archive = nn::read_safetensors(copy);
  for (const auto& e : model.state_dict()) CHECK(archive.tensors.at(e.name) == e.value);
}

}  // namespace

TEST_CASE("saving to a named pipe writes the bytes into it, and it stays a pipe") {
  TempDir dir("af_fifo");
  const auto fifo = dir / "model.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto model = small_model();
  // Opened before the writer, without blocking: the writer's open then finds its reader.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  std::string received;
  std::thread drainer([&] { received = drain(reader); });
  nn::save(model, fifo);
  drainer.join();
  ::close(reader);
  CHECK(stays_fifo(fifo));
  REQUIRE(!received.empty());
  check_same_state(received, *model, dir);
  // A second save into the same pipe.
  const int reader2 = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader2 >= 0);
  std::thread drainer2([&] { received = drain(reader2); });
  nn::save(model, fifo, {{"k", "v"}});
  drainer2.join();
  ::close(reader2);
  CHECK(stays_fifo(fifo));
  CHECK(received.size() > 8);
}

TEST_CASE("a pipe whose reader is gone is a tg::Error, not a SIGPIPE") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  auto model = small_model();
  CHECK_THROWS_WITH_AS(nn::save(model, "/dev/fd/" + std::to_string(fds[1])),
                       doctest::Contains("Broken pipe"), tg::Error);
  ::close(fds[1]);
  // A descriptor open for reading only is refused before anything is written.
  REQUIRE(::pipe(fds) == 0);
  CHECK_THROWS_WITH_AS(nn::save(model, "/proc/self/fd/" + std::to_string(fds[0])),
                       doctest::Contains("reading only"), tg::Error);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("devices are written into: a full device is an error, and both stay devices") {
  TempDir dir("af_dev");
  auto model = small_model();
  // Device nodes of our own (root may make them) so that nothing in /dev is at stake.
  const auto null_dev = dir / "null", full_dev = dir / "full";
  const bool own = ::mknod(null_dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0 &&
                   ::mknod(full_dev.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0;
  const std::filesystem::path null_path = own ? null_dev : "/dev/null";
  const std::filesystem::path full_path = own ? full_dev : "/dev/full";
  nn::save(model, null_path);
  CHECK(stays_char_device(null_path));
  CHECK_THROWS_WITH_AS(nn::save(model, full_path), doctest::Contains("No space left"), tg::Error);
  CHECK(stays_char_device(full_path));
  CHECK_THROWS_WITH_AS(nn::save(model, "/dev/full"), doctest::Contains("cannot write"), tg::Error);
  CHECK(stays_char_device("/dev/full"));
  // A symbolic link to a device: the link stays, the device is written into.
  std::filesystem::create_symlink(null_path, dir / "link");
  nn::save(model, dir / "link");
  CHECK(std::filesystem::is_symlink(dir / "link"));
  CHECK(stays_char_device(null_path));
}

TEST_CASE("/dev/stdout going to a log appends to the log instead of replacing it") {
  TempDir dir("af_stdout");
  const auto log = dir / "run.log";
  auto model = small_model();
  std::fflush(stdout);
  const int saved = ::dup(1);
  REQUIRE(saved >= 0);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  REQUIRE(log_fd >= 0);
  REQUIRE(::dup2(log_fd, 1) == 1);
  ::close(log_fd);
  const std::string line = "epoch 1: loss 0.5\n";
  REQUIRE(::write(1, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  std::string error;
  try {
    nn::save(model, "/dev/stdout");
  } catch (const tg::Error& e) {
    error = e.what();
  }
  ::dup2(saved, 1);
  ::close(saved);
  CHECK(error == "");
  CHECK(std::filesystem::is_regular_file(log));
  const std::string text = nn_test::read_bytes(log);
  REQUIRE(text.size() > line.size());
  CHECK(text.substr(0, line.size()) == line);  // the log's line is still there
  check_same_state(text.substr(line.size()), *model, dir);
  CHECK(::fcntl(1, F_GETFD) >= 0);  // stdout itself is still open
}

TEST_CASE("descriptor names parse only as descriptors") {
  using nn::detail::descriptor_path;
  CHECK(descriptor_path("/dev/stdout") == 1);
  CHECK(descriptor_path("/dev/stderr") == 2);
  CHECK(descriptor_path("/dev/fd/7") == 7);
  CHECK(descriptor_path("/proc/self/fd/12") == 12);
  CHECK(descriptor_path("/proc/" + std::to_string(::getpid()) + "/fd/3") == 3);
  CHECK(descriptor_path("/proc/self/fd/") == -1);
  CHECK(descriptor_path("/proc/self/fd/1x") == -1);
  CHECK(descriptor_path("/tmp/dev/stdout") == -1);
  CHECK(descriptor_path("model.safetensors") == -1);
}

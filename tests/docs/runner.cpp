// test_docs: every ```cpp block of the README and docs/*.md, compiled into this program (one
// translation unit per Markdown file, tests/docs/extract.cpp), and the complete programs among
// them run. Usage: test_docs <file.md as registered, e.g. docs/getting-started.md> | --list
//
// Each program runs in a child process of its own, in a scratch folder, with a time limit; a
// failure names the Markdown file and the block's line.
#include "runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace tg::doc_test {
namespace {

struct Entry {
  int line;
  std::function<int()> program;
  int timeout;
  const char* note;
};

std::map<std::string, std::vector<Entry>>& registry() {
  static std::map<std::string, std::vector<Entry>> r;
  return r;
}

std::map<std::string, std::size_t>& files() {
  static std::map<std::string, std::size_t> f;
  return f;
}

// Runs one program in a child process; returns an empty string or what went wrong.
std::string run(const Entry& e, const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);  // what an earlier run left
  std::filesystem::create_directories(dir);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return std::string("fork failed: ") + std::strerror(errno);
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    int status = 1;
    try {
      status = e.program();
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "uncaught exception: %s\n", ex.what());
      status = 1;
    }
    std::fflush(nullptr);
    _exit(status);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(e.timeout);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return std::string("waitpid failed: ") + std::strerror(errno);
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return "did not finish within " + std::to_string(e.timeout) + " s (the block's time limit)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "";
}

}  // namespace

bool add(const char* file, int line, std::function<int()> program, int timeout, const char* note) {
  registry()[file].push_back({line, std::move(program), timeout, note});
  return true;
}

bool add_file(const char* file, std::size_t blocks) {
  files()[file] = blocks;
  return true;
}

}  // namespace tg::doc_test

int main(int argc, char** argv) {
  using namespace tg::doc_test;
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [file, count] : files()) {
      std::printf("%s: %zu code blocks\n", file.c_str(), count);
      for (const auto& e : registry()[file])
        std::printf("  %s:%d %s\n", file.c_str(), e.line,
                    e.program ? "program, run" : e.note ? e.note : "fragment, compiled");
    }
    return 0;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: test_docs <file.md> | --list\n");
    return 2;
  }
  const std::string file = argv[1];
  if (!files().count(file)) {
    std::fprintf(stderr, "test_docs: %s was not compiled in (re-run cmake to pick up a new page)\n",
                 file.c_str());
    return 1;
  }
  auto entries = registry()[file];
  int programs = 0, failures = 0, compiled = 0;
  const auto scratch = std::filesystem::current_path() / "docs_scratch";
  for (const auto& e : entries) {
    if (!e.program) {
      if (e.note) std::printf("%s:%d: %s\n", file.c_str(), e.line, e.note);
      if (!e.note || std::strncmp(e.note, "not compiled", 12) != 0) ++compiled;
      continue;
    }
    ++compiled;
    ++programs;
    std::printf("---- %s:%d: running (limit %d s)\n", file.c_str(), e.line, e.timeout);
    const auto started = std::chrono::steady_clock::now();
    std::string dir_name = file + "_" + std::to_string(e.line);
    for (auto& c : dir_name) if (c == '/') c = '_';
    const std::string error = run(e, scratch / dir_name);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (error.empty()) {
      std::printf("---- %s:%d: ok (%.1f s)\n", file.c_str(), e.line, seconds);
    } else {
      std::printf("%s:%d: error: the program %s\n", file.c_str(), e.line, error.c_str());
      ++failures;
    }
  }
  std::printf("%s: %d of %zu code blocks compiled, %d programs run, %d failed\n", file.c_str(),
              compiled, entries.size(), programs, failures);
  return failures == 0 ? 0 : 1;
}

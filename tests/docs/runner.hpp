#pragma once
// The registry of test_docs: each generated translation unit (one per Markdown file, written by
// extract.cpp) registers its code blocks here; runner.cpp's main runs the programs among them.
#include <cstddef>
#include <functional>

namespace tg::doc_test {

/// Registers one code block of `file` at `line`. `program` is the block's main (null for a
/// fragment or a program not run), `timeout` its limit in seconds, `note` why it is not run.
bool add(const char* file, int line, std::function<int()> program, int timeout, const char* note);

inline bool add(const char* file, int line, int (*main)(), int timeout, const char* note) {
  return add(file, line, std::function<int()>(main), timeout, note);
}

inline bool add(const char* file, int line, int (*main)(int, char**), int timeout, const char* note) {
  return add(file, line, std::function<int()>([main] {
               static char name[] = "doc-program";
               char* argv[] = {name, nullptr};
               return main(1, argv);
             }),
             timeout, note);
}

inline bool add(const char* file, int line, std::nullptr_t, int timeout, const char* note) {
  return add(file, line, std::function<int()>(), timeout, note);
}

/// Registers `file` itself with its number of code blocks (so a file with none is known too).
bool add_file(const char* file, std::size_t blocks);

}  // namespace tg::doc_test

// Turns the ```cpp blocks of one Markdown file into one C++ translation unit for test_docs.
//
// Usage: docs_extract <file.md> <name shown in messages> <output.cpp>
//
// Every block becomes code under a `#line` directive naming the Markdown file and the block's
// line, so a compiler error reads "docs/getting-started.md:42:7: error: ...". Each block lives
// in a namespace of its own (doc_<file>_L<line>), so two blocks may both define a `Net`:
// - a block with `int main(` is a complete program: its main is registered and test_docs runs
//   it (in a child process, with a time limit);
// - any other block is a fragment, compiled as the body of a function after
//   `#include <tapegrad/tapegrad.hpp>`.
// `#include` lines are moved to the top of the file (their line numbers kept) so that no header
// is included inside a namespace.
//
// An HTML comment right before a block (invisible on the rendered page) says what the block
// needs. Its first line holds words, the lines after it code:
//   <!-- doc-test: declarations -->         the block is namespace-scope code (structs,
//                                            functions), compiled but not wrapped in a function
//   <!-- doc-test: no-run REASON -->        a program compiled but not run (needs MPI, a file...)
//   <!-- doc-test: requires onnx -->        compiled only where tapegrad has ONNX export
//   <!-- doc-test: requires opencv -->      compiled only where OpenCV's DNN module was found
//   <!-- doc-test: timeout SECONDS -->      a program's time limit (default 120 s)
//   <!-- doc-test: prelude                  declarations placed before the block, in its
//   struct Net : tg::nn::Module { ... };     namespace (what a fragment refers to)
//   -->
//   <!-- doc-test: setup                    statements run before a fragment, in its function
//   tg::nn::Linear model(4, 2);
//   -->
// Blocks that must not be compiled (shell, output, CMake) use another fence language.
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Block {
  int line = 0;                    // the block's first code line in the Markdown file
  std::vector<std::string> code;   // its lines
  std::string prelude, setup;      // from markers
  int prelude_line = 0, setup_line = 0;
  bool declarations = false, run = true, program = false;
  std::string requires_macro;      // wrap in #ifdef of this
  std::string no_run_reason;
  int timeout = 120;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

[[noreturn]] void fail(const std::string& where, int line, const std::string& what) {
  std::cerr << where << ":" << line << ": " << what << "\n";
  std::exit(1);
}

// Applies one marker's words to the block being prepared.
void apply_marker(Block& b, const std::string& words, const std::string& code, int code_line,
                  const std::string& name, int line) {
  std::istringstream in(words);
  std::string word;
  while (in >> word) {
    if (word == "declarations") {
      b.declarations = true;
    } else if (word == "no-run") {
      b.run = false;
      std::getline(in, b.no_run_reason);
      b.no_run_reason = trim(b.no_run_reason);
      if (b.no_run_reason.empty()) fail(name, line, "doc-test: no-run needs a reason after it");
      return;
    } else if (word == "requires") {
      std::string what;
      in >> what;
      if (what == "onnx") b.requires_macro = "TAPEGRAD_WITH_ONNX";
      else if (what == "opencv") b.requires_macro = "TAPEGRAD_DOCS_WITH_OPENCV";
      else fail(name, line, "doc-test: requires onnx|opencv, got '" + what + "'");
    } else if (word == "timeout") {
      if (!(in >> b.timeout) || b.timeout <= 0) fail(name, line, "doc-test: timeout needs seconds");
    } else if (word == "prelude") {
      b.prelude += code;
      b.prelude_line = code_line;
    } else if (word == "setup") {
      b.setup += code;
      b.setup_line = code_line;
    } else {
      fail(name, line, "doc-test: unknown word '" + word +
                           "' (declarations, no-run, requires, timeout, prelude, setup)");
    }
  }
}

// A program's main lives in a namespace here, where flowing off its end is not `return 0` (as it
// is for ::main) but undefined: add `return 0;` before main's closing brace, on the same line so
// that line numbers stay. Braces in comments, strings and character literals are skipped.
bool add_return_to_main(std::vector<std::string>& code) {
  int depth = 0;
  bool in_main = false, block_comment = false;
  for (auto& line : code) {
    if (!in_main) {
      const auto at = line.find("int main(");
      if (at == std::string::npos || trim(line).rfind("//", 0) == 0) continue;
      in_main = true;
    }
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (block_comment) {
        if (c == '*' && i + 1 < line.size() && line[i + 1] == '/') block_comment = false, ++i;
        continue;
      }
      if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') break;
      if (c == '/' && i + 1 < line.size() && line[i + 1] == '*') {
        block_comment = true;
        ++i;
      } else if (c == '"' || c == '\'') {
        for (++i; i < line.size() && line[i] != c; ++i)
          if (line[i] == '\\') ++i;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        line = line.substr(0, i) + " return 0; " + line.substr(i);
        return true;
      }
    }
  }
  return false;
}

bool is_cpp_fence(const std::string& info) {
  const std::string lang = trim(info);
  return lang == "cpp" || lang == "c++" || lang == "cxx" || lang == "C++";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: docs_extract <file.md> <name> <output.cpp>\n";
    return 2;
  }
  const std::string name = argv[2];
  std::ifstream in(argv[1]);
  if (!in) fail(argv[1], 0, "cannot read");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);

  std::vector<Block> blocks;
  Block pending;  // markers seen since the last block
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trim(lines[i]);
    if (starts_with(t, "<!-- doc-test:")) {
      const int marker_line = static_cast<int>(i) + 1;
      std::string first = t.substr(std::string("<!-- doc-test:").size());
      std::string code;
      int code_line = marker_line + 1;
      const auto close = first.find("-->");
      if (close != std::string::npos) {
        first = first.substr(0, close);
      } else {
        for (++i; i < lines.size() && trim(lines[i]) != "-->"; ++i) code += lines[i] + "\n";
        if (i == lines.size()) fail(name, marker_line, "doc-test marker without a closing '-->' line");
      }
      apply_marker(pending, first, code, code_line, name, marker_line);
      continue;
    }
    if (!starts_with(t, "```")) continue;
    const bool cpp = is_cpp_fence(t.substr(3));
    const std::string fence = t.substr(0, t.find_first_not_of('`'));
    Block b = pending;
    pending = Block{};
    b.line = static_cast<int>(i) + 2;
    const int open_line = static_cast<int>(i) + 1;
    for (++i; i < lines.size() && trim(lines[i]) != fence; ++i) b.code.push_back(lines[i]);
    if (i == lines.size()) fail(name, open_line, "code block without a closing fence");
    if (!cpp) continue;
    for (const auto& l : b.code) {
      const std::string c = trim(l);
      if (c.find("int main(") != std::string::npos && !starts_with(c, "//")) b.program = true;
    }
    if (b.program && b.declarations) fail(name, open_line, "a program (with main) is not 'declarations'");
    if (b.program && !add_return_to_main(b.code)) fail(name, open_line, "cannot find the end of main");
    blocks.push_back(std::move(b));
  }

  std::ostringstream out;
  out << "// Generated by tests/docs/extract.cpp from " << name << ": do not edit.\n"
      << "#include <tapegrad/tapegrad.hpp>\n#include \"runner.hpp\"\n";
  // The includes first, each at its own line of the Markdown file.
  for (auto& b : blocks) {
    if (!b.requires_macro.empty()) out << "#ifdef " << b.requires_macro << "\n";
    for (std::size_t k = 0; k < b.code.size(); ++k) {
      if (!starts_with(trim(b.code[k]), "#include")) continue;
      out << "#line " << b.line + static_cast<int>(k) << " " << quote(name) << "\n" << b.code[k] << "\n";
      b.code[k].clear();
    }
    if (!b.requires_macro.empty()) out << "#endif\n";
  }
  // The namespace names the file too: all files' blocks link into one program.
  std::string file_id;
  for (char c : name) file_id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  for (const auto& b : blocks) {
    const std::string ns = "doc_" + file_id + "_L" + std::to_string(b.line);
    const bool guarded = !b.requires_macro.empty();
    if (guarded) out << "#ifdef " << b.requires_macro << "\n";
    out << "namespace " << ns << " {\n";
    if (!b.prelude.empty()) out << "#line " << b.prelude_line << " " << quote(name) << "\n" << b.prelude;
    const bool body = !b.program && !b.declarations;
    if (body) {
      out << "[[maybe_unused]] void fragment() {\n";
      if (!b.setup.empty()) out << "#line " << b.setup_line << " " << quote(name) << "\n" << b.setup;
    }
    out << "#line " << b.line << " " << quote(name) << "\n";
    for (const auto& l : b.code) out << l << "\n";
    if (body) out << "}\n";
    out << "}  // namespace " << ns << "\n";
    // Registration: the runner lists every block and runs the programs.
    out << "static const bool " << ns << "_registered = tg::doc_test::add(" << quote(name) << ", "
        << b.line << ", ";
    if (b.program && b.run) out << "&" << ns << "::main, " << b.timeout << ", nullptr";
    else if (b.program) out << "nullptr, 0, " << quote("not run: " + b.no_run_reason);
    else out << "nullptr, 0, nullptr";
    out << ");\n";
    if (guarded) {
      out << "#else\nstatic const bool " << ns << "_registered = tg::doc_test::add(" << quote(name)
          << ", " << b.line << ", nullptr, 0, "
          << quote("not compiled: needs " + b.requires_macro) << ");\n#endif\n";
    }
  }
  // test_docs checks that every file it is asked about registered itself, blocks or not.
  out << "static const bool doc_file_registered = tg::doc_test::add_file(" << quote(name) << ", "
      << blocks.size() << ");\n";

  const std::string text = out.str();
  std::ofstream file(argv[3]);
  file << text;
  if (!file) fail(argv[3], 0, "cannot write");
  return 0;
}

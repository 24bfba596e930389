// safetensors: round trips, the committed reference files, hostile files, atomic writes.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstring>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/atomic_file.hpp>
#include <tapegrad/nn/safetensors.hpp>
#include "test_util.hpp"

namespace {

using tg::Shape;
using tg::Tensor;
namespace nn = tg::nn;
using nn_test::safetensors_bytes;
using nn_test::TempDir;
using nn_test::write_bytes;

std::size_t temp_files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().filename().string().find(".tg-tmp.") != std::string::npos;
  return n;
}

nn::TensorArchive sample_archive() {
  tg::manual_seed(21);
  nn::TensorArchive a;
  a.tensors["conv.weight"] = tg::randn(Shape{4, 3, 3, 3}).value();
  a.tensors["bn.num_batches_tracked"] = Tensor(41.0f);
  a.tensors["empty"] = tg::zeros(Shape{0, 3}).value();
  a.tensors["scalar"] = Tensor(-2.5f);
  a.dtypes["bn.num_batches_tracked"] = nn::Dtype::I64;
  a.metadata["format"] = "pt";
  a.metadata["note"] = "tapegrad test";
  return a;
}

// Reads `bytes` as a file and returns the error message ("" when it reads).
std::string read_error(const TempDir& dir, const std::string& bytes) {
  auto path = dir / "hostile.safetensors";
  // A new file each time: ext4 flushes a file truncated and rewritten in place when it is
  // closed, which made thousands of reads take seconds.
  std::filesystem::remove(path);
  write_bytes(path, bytes);
  try {
    nn::read_safetensors(path);
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("safetensors round trip: values, shapes, dtypes, metadata, 8-byte aligned data") {
  TempDir dir("st_roundtrip");
  auto a = sample_archive();
  auto path = dir / "a.safetensors";
  nn::write_safetensors(path, a);
  auto b = nn::read_safetensors(path);
  CHECK(b.metadata == a.metadata);
  REQUIRE(b.tensors.size() == a.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    CHECK_MESSAGE(b.tensors.at(name).shape() == t.shape(), name);
    CHECK_MESSAGE(b.tensors.at(name) == t, name);
  }
  CHECK(b.dtypes.at("bn.num_batches_tracked") == nn::Dtype::I64);
  CHECK(b.dtypes.at("conv.weight") == nn::Dtype::F32);
  const std::string bytes = nn_test::read_bytes(path);
  std::uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  CHECK(header % 8 == 0);
  CHECK(bytes.find("\"dtype\":\"I64\"") != std::string::npos);
  CHECK(temp_files_in(dir.path()) == 0);
  nn::write_safetensors(path, nn::TensorArchive{});  // an empty archive is a valid file
  CHECK(nn::read_safetensors(path).tensors.empty());
}

TEST_CASE("the reference files written by the committed script read back exactly") {
  auto state = nn::read_safetensors(nn_test::fixtures() / "reference_state_dict.safetensors");
  CHECK(state.metadata.at("format") == "pt");
  CHECK(state.tensors.size() == 9);
  CHECK(state.dtypes.at("1.num_batches_tracked") == nn::Dtype::I64);
  CHECK(state.tensors.at("1.num_batches_tracked").dimension() == 0);
  CHECK(state.tensors.at("1.num_batches_tracked")() == 7.0f);
  CHECK(state.tensors.at("0.weight").shape() == Shape{2, 1, 3, 3});
  // value(name, i) of make_reference_safetensors.py
  auto value = [](const std::string& name, std::size_t i) {
    int sum = 0;
    for (char c : name) sum += c;
    return static_cast<float>((sum % 13 - 6) / 8.0 + static_cast<double>(i) / 16.0);
  };
  for (const char* name : {"0.weight", "0.bias", "1.weight", "3.weight", "3.bias"}) {
    const Tensor& t = state.tensors.at(name);
    for (std::size_t i = 0; i < t.size(); ++i) CHECK_MESSAGE(t.data()[i] == value(name, i), name);
  }
  CHECK(state.tensors.at("1.running_var")(1) == 1.25f);

  auto dtypes = nn::read_safetensors(nn_test::fixtures() / "reference_dtypes.safetensors");
  auto& t = dtypes.tensors;
  CHECK(t.at("F64") == Tensor{{0.5f, -1.25f}, {3.0f, 0.001f}});
  CHECK(t.at("F16") == Tensor{1.0f, -2.5f, std::ldexp(1.0f, -14), 65504.0f});
  CHECK(t.at("BF16") == Tensor{1.0f, -3.5f, 256.0f});
  CHECK(t.at("I64") == Tensor{-5.0f, 0.0f, 123456.0f});
  CHECK(t.at("I32") == Tensor{-7.0f, 2147483647.0f});
  CHECK(t.at("I16") == Tensor{-300.0f, 300.0f});
  CHECK(t.at("I8") == Tensor{-128.0f, 127.0f});
  CHECK(t.at("U8") == Tensor{0.0f, 255.0f});
  CHECK(t.at("BOOL") == Tensor{1.0f, 0.0f, 1.0f});
  CHECK(dtypes.dtypes.at("BF16") == nn::Dtype::BF16);
}

TEST_CASE("hostile and corrupted files are clear errors naming the file and the entry") {
  TempDir dir("st_hostile");
  auto f32 = [](const std::string& shape, const std::string& offsets,
                const std::string& dtype = "F32") {
    return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  };
  const std::string data8(8, '\0');
  struct Case {
    std::string bytes, message;
  };
  const Case cases[] = {
      {"abc", "expected at least 8 bytes (the header length), got 3 (truncated file)"},
      {safetensors_bytes("{}", "", 1ull << 40),
       "expected a header of at most 100000000 bytes, got 1099511627776"},
      {safetensors_bytes("{}", "", 1000),
       "expected a 1000-byte header within the 10-byte file, got a truncated file"},
      {safetensors_bytes("{not json", ""), "expected a JSON header, got invalid JSON"},
      {safetensors_bytes("[1, 2]", ""), "expected a JSON object as header, got array"},
      {safetensors_bytes("{\"a\":" + f32("[2]", "[0,8]") + "}", std::string(4, '\0')),
       "entry 'a': expected data_offsets within the 4-byte data section, got [0,8]"},
      {safetensors_bytes("{\"a\":" + f32("[1]", "[0,18446744073709551615]") + "}", data8),
       "entry 'a': expected data_offsets within the 8-byte data section"},
      {safetensors_bytes("{\"a\":" + f32("[2]", "[0,8]") + ",\"b\":" + f32("[2]", "[4,12]") + "}",
                         std::string(12, '\0')),
       "entry 'b': expected data not overlapping entry 'a'"},
      {safetensors_bytes("{\"a\":" + f32("[1]", "[0,4]") + ",\"b\":" + f32("[1]", "[8,12]") + "}",
                         std::string(12, '\0')),
       "entry 'b': expected data starting at byte 4 (no gap), got 8"},
      {safetensors_bytes("{\"a\":" + f32("[1]", "[0,4]") + "}", data8),
       "expected the tensors to fill the 8-byte data section, got 4 bytes used"},
      {safetensors_bytes("{\"a\":" + f32("[-1]", "[0,4]") + "}", data8),
       "entry 'a': expected shape to hold non-negative integers, got -1"},
      {safetensors_bytes("{\"a\":" + f32("[1.5]", "[0,4]") + "}", data8),
       "entry 'a': expected shape to hold non-negative integers, got 1.5"},
      {safetensors_bytes("{\"a\":" + f32("[4294967296,4294967296,4]", "[0,8]") + "}", data8),
       "entry 'a': expected a shape whose size fits in 64 bits"},
      {safetensors_bytes("{\"a\":" + f32("[3]", "[0,8]") + "}", data8),
       "entry 'a': expected 8 bytes = shape [3] x 4 bytes (F32), got a shape of another size"},
      {safetensors_bytes("{\"a\":" + f32("[8]", "[0,8]", "F8_E4M3") + "}", data8),
       "entry 'a': expected a supported dtype"},
      {safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", data8),
       "entry 'a': expected a field 'data_offsets', got none"},
      {safetensors_bytes("{\"a\":" + f32("[2]", "[8,0]") + "}", data8),
       "entry 'a': expected data_offsets"},
      {safetensors_bytes("{\"a\":" + f32("[2]", "[0]") + "}", data8),
       "entry 'a': expected data_offsets [begin, end], got [0]"},
      {safetensors_bytes("{\"a\":" + f32("[2]", "[0,8]") + ",\"a\":" + f32("[2]", "[0,8]") + "}",
                         data8),
       "expected unique keys in each JSON object, got 'a' twice"},
      {safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I8\",\"shape\":[2],"
                         "\"data_offsets\":[0,8]}}",
                         data8),
       "expected unique keys in each JSON object, got 'dtype' twice"},
      {safetensors_bytes("{\"__metadata__\":{\"k\":3}}", ""),
       "expected string values, got 3 for 'k'"},
      {safetensors_bytes("{\"a\":[1]}", ""),
       "entry 'a': expected an object {dtype, shape, data_offsets}"},
  };
  for (const auto& c : cases) {
    const std::string message = read_error(dir, c.bytes);
    CHECK_MESSAGE(message.find(c.message) != std::string::npos,
                  "got: " << message << "\nexpected: " << c.message);
    CHECK_MESSAGE(message.find("hostile.safetensors") != std::string::npos, message);
  }
  CHECK_THROWS_WITH_AS(nn::read_safetensors(dir / "missing.safetensors"),
                       doctest::Contains("missing.safetensors': cannot read the file"), tg::Error);
}

TEST_CASE("every truncation and random corruption of a valid file reads or throws tg::Error") {
  TempDir dir("st_fuzz");
  auto path = dir / "valid.safetensors";
  nn::write_safetensors(path, sample_archive());
  const std::string valid = nn_test::read_bytes(path);
  // Every strict prefix is rejected: each length through the header, then every 13th.
  std::uint64_t header = 0;
  std::memcpy(&header, valid.data(), 8);
  for (std::size_t n = 0; n < valid.size(); n += n < 8 + header ? 1 : 13)
    CHECK_MESSAGE(!read_error(dir, valid.substr(0, n)).empty(), n);
  tg::Generator gen(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(gen.below(3));
    for (int k = 0; k < flips; ++k) {
      // Mostly in the length and the header, where the structure is.
      const std::size_t limit =
          gen.bernoulli(0.8f) ? std::min<std::size_t>(bytes.size(), 200) : bytes.size();
      bytes[gen.below(limit)] = static_cast<char>(gen.below(256));
    }
    CHECK_NOTHROW(read_error(dir, bytes));  // no crash, no other exception type
  }
}

TEST_CASE("write_safetensors rejects what it cannot write, naming the entry") {
  TempDir dir("st_write_errors");
  nn::TensorArchive a;
  a.tensors["x"] = Tensor{1.5f};
  a.dtypes["x"] = nn::Dtype::I64;
  CHECK_THROWS_WITH_AS(nn::write_safetensors(dir / "a.safetensors", a),
                       doctest::Contains("entry 'x': expected integral values to store as I64"),
                       tg::Error);
  a.dtypes["x"] = nn::Dtype::F16;
  CHECK_THROWS_WITH_AS(nn::write_safetensors(dir / "a.safetensors", a),
                       doctest::Contains("entry 'x': expected dtype F32 or I64 to write, got F16"),
                       tg::Error);
  a.dtypes.clear();
  a.dtypes["y"] = nn::Dtype::I64;
  CHECK_THROWS_WITH_AS(
      nn::write_safetensors(dir / "a.safetensors", a),
      doctest::Contains("entry 'y': expected a dtype only for a tensor of the archive"), tg::Error);
  a.dtypes.clear();
  CHECK_THROWS_WITH_AS(nn::write_safetensors(dir / "no" / "such" / "dir.safetensors", a),
                       doctest::Contains("dir.safetensors': cannot create the temporary file"),
                       tg::Error);
  CHECK(temp_files_in(dir.path()) == 0);
}

TEST_CASE("a write interrupted midway leaves the previous file intact") {
  TempDir dir("st_atomic");
  auto path = dir / "model.safetensors";
  nn::TensorArchive old_archive;
  old_archive.tensors["w"] = Tensor{1.0f, 2.0f, 3.0f};
  nn::write_safetensors(path, old_archive);
  nn::TensorArchive big;
  big.tensors["w"] = tg::zeros(Shape{256, 1024}).value();  // 1 MB, far over the limit below

  // The child may write at most 64 KB: the kernel kills it with SIGXFSZ in the middle of the
  // data (first run), or the write fails with EFBIG and must throw (second run, signal ignored).
  for (bool killed : {true, false}) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      rlimit no_core{0, 0}, small{1 << 16, 1 << 16};
      ::setrlimit(RLIMIT_CORE, &no_core);
      ::setrlimit(RLIMIT_FSIZE, &small);
      if (!killed) ::signal(SIGXFSZ, SIG_IGN);
      try {
        nn::write_safetensors(path, big);
      } catch (const tg::Error& e) {
        _exit(std::strstr(e.what(), "cannot write the temporary file") ? 10 : 11);
      }
      _exit(12);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (killed) {
      CHECK(WIFSIGNALED(status));
      CHECK(WTERMSIG(status) == SIGXFSZ);
      // The half-written file had no name (O_TMPFILE): nothing stays behind.
      CHECK(temp_files_in(dir.path()) == 0);
    } else {
      CHECK(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 10);
      CHECK(temp_files_in(dir.path()) == 0);
    }
    auto read = nn::read_safetensors(path);
    CHECK(read.tensors.at("w") == old_archive.tensors.at("w"));
  }
  nn::write_safetensors(path, big);  // without the limit it replaces the file
  CHECK(nn::read_safetensors(path).tensors.at("w").shape() == Shape{256, 1024});
}

// ------------------------------------------------------------- bounded work, bounded messages

namespace {

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST_CASE("JSON nested 10,000 or 100,000 deep anywhere in the header is a short error") {
  TempDir dir("st_deep");
  for (std::size_t depth : {std::size_t{10'000}, std::size_t{100'000}}) {
    const std::string deep = nested(depth);
    const std::string headers[] = {
        "{\"a\":" + deep + "}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":" + deep + ",\"data_offsets\":[0,0]}}",
        "{\"a\":{\"dtype\":" + deep + ",\"shape\":[0],\"data_offsets\":[0,0]}}",
        "{\"__metadata__\":" + deep + "}",
        "{\"__metadata__\":{\"k\":" + deep + "}}",
        deep,
    };
    for (const auto& header : headers) {
      const std::string message = read_error(dir, safetensors_bytes(header, ""));
      CHECK_MESSAGE(message.find("expected JSON nested at most 64 deep") != std::string::npos,
                    message.substr(0, 300));
      CHECK(message.size() < 300);
    }
  }
  // 64 deep is allowed by the JSON check, then refused as a shape by the entry check.
  const std::string message = read_error(
      dir, safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[" + nested(61) +
                                 "],\"data_offsets\":[0,0]}}",
                             ""));
  CHECK(message.find("entry 'a': expected shape to hold non-negative integers, got [[[[") !=
        std::string::npos);
  CHECK(message.size() < 300);
}

TEST_CASE("error messages quote at most a short prefix of a hostile value") {
  TempDir dir("st_long");
  const std::string big(1'000'000, 'x');
  const std::string headers[] = {
      "{\"a\":{\"dtype\":\"" + big + "\",\"shape\":[0],\"data_offsets\":[0,0]}}",
      "{\"" + big + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,0]}}",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + std::string(200'000, '1') + "],\"data_offsets\":[0,0]}}",
      "{\"__metadata__\":{\"" + big + "\":1}}",
      "{\"a\":\"" + big + "\"}",
      "{\"a\":" + big + "}",  // invalid JSON: the parser's message quotes the token
      "{\"a\":[" + [] { std::string s; for (int i = 0; i < 100'000; ++i) s += "1,"; return s; }() +
          "1]}",
  };
  for (const auto& header : headers) {
    const std::string message = read_error(dir, safetensors_bytes(header, ""));
    CHECK(!message.empty());
    CHECK_MESSAGE(message.size() < 400, message.substr(0, 400));
  }
}

TEST_CASE("headers are read in linear time: 100,000 entries") {
  // Each entry used to rescan the whole object (22 s for 40,000): a regression shows here as
  // a slow suite, not as a failed assertion.
  TempDir dir("st_many");
  std::string header = "{";
  for (int i = 0; i < 100'000; ++i)
    header += (i ? ",\"t" : "\"t") + std::to_string(i) +
              "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
  header += "}";
  auto path = dir / "many.safetensors";
  write_bytes(path, safetensors_bytes(header, ""));
  const auto archive = nn::read_safetensors(path);
  CHECK(archive.tensors.size() == 100'000);
  CHECK(archive.tensors.at("t99999").shape() == Shape{0});
}

// ------------------------------------------------------------------------------- checksums

TEST_CASE("files carry checksums; every single-bit flip of a written file is caught") {
  TempDir dir("st_crc");
  auto path = dir / "a.safetensors";
  const auto archive = sample_archive();
  nn::write_safetensors(path, archive);
  const std::string valid = nn_test::read_bytes(path);
  CHECK(valid.find("\"tapegrad.crc32.conv.weight\":\"") != std::string::npos);
  CHECK(valid.find("\"tapegrad.crc32\":\"") != std::string::npos);
  CHECK(nn::read_safetensors(path).metadata == archive.metadata);  // checksums not returned

  std::size_t caught = 0, flips = 0;
  for (std::size_t byte = 0; byte < valid.size(); ++byte)
    for (int bit = 0; bit < 8; ++bit, ++flips) {
      std::string bytes = valid;
      bytes[byte] = static_cast<char>(bytes[byte] ^ (1 << bit));
      const bool rejected = !read_error(dir, bytes).empty();
      CHECK_MESSAGE(rejected, "byte ", byte, " bit ", bit, ": ", bytes.substr(byte > 20 ? byte - 20 : 0, 40));
      caught += rejected;
    }
  CHECK(caught == flips);
  MESSAGE(flips, " single-bit flips of a ", valid.size(), "-byte file, all rejected");

  // The data's checksum names the tensor; the header's says the header.
  std::uint64_t header = 0;
  std::memcpy(&header, valid.data(), 8);
  std::string data_flip = valid;
  data_flip[8 + header + 8 + 5] ^= 0x10;  // inside conv.weight, after the 8-byte I64 counter
  CHECK(read_error(dir, data_flip).find("entry 'conv.weight': expected data matching its "
                                        "checksum") != std::string::npos);
  std::string renamed = valid;
  renamed.replace(renamed.find("\"note\""), 6, "\"nose\"");
  CHECK(read_error(dir, renamed).find("expected the header to match its checksum") !=
        std::string::npos);
}

TEST_CASE("files without checksums (PyTorch's) read; the checksum keys are reserved") {
  TempDir dir("st_crc_foreign");
  const std::string header =
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"__metadata__\":{\"format\":\"pt\"}}";
  std::string data(8, '\0');
  const float values[2] = {1.5f, -2.0f};
  std::memcpy(data.data(), values, 8);
  auto path = dir / "torch.safetensors";
  write_bytes(path, safetensors_bytes(header, data));
  const auto read = nn::read_safetensors(path);
  CHECK(read.tensors.at("w") == Tensor{1.5f, -2.0f});
  CHECK(read.metadata == std::map<std::string, std::string>{{"format", "pt"}});

  nn::TensorArchive a;
  a.tensors["w"] = Tensor{1.0f};
  a.metadata["tapegrad.crc32.w"] = "00000000";
  CHECK_THROWS_WITH_AS(nn::write_safetensors(dir / "x.safetensors", a),
                       doctest::Contains("reserved for checksums"), tg::Error);
  // A checksum for a tensor that is not there, or a tensor without one, is corruption.
  for (const std::string& meta :
       {std::string("{\"tapegrad.crc32.v\":\"00000000\"}"), std::string("{\"tapegrad.crc32\":\"0\"}")}) {
    const std::string bad =
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":" + meta +
        "}";
    CHECK(!read_error(dir, safetensors_bytes(bad, data)).empty());
  }
}

// ----------------------------------------------------------------------- temporary files

TEST_CASE("names up to NAME_MAX work, and no temporary file is left") {
  TempDir dir("st_long_name");
  const auto path = dir / (std::string(NAME_MAX - 12, 'n') + ".safetensors");
  REQUIRE(path.filename().string().size() == NAME_MAX);
  nn::write_safetensors(path, sample_archive());
  nn::write_safetensors(path, sample_archive());  // replacing it too
  CHECK(nn::read_safetensors(path).tensors.size() == sample_archive().tensors.size());
  CHECK(temp_files_in(dir.path()) == 0);
  CHECK(nn::detail::AtomicFile::temporary_prefix(path.filename().string()).size() + 21 <=
        NAME_MAX);
}

TEST_CASE("saving onto a symbolic link writes through it: the link stays, its target changes") {
  TempDir dir("st_symlink");
  std::filesystem::create_directories(dir / "real");
  const auto target = dir / "real" / "model.safetensors";
  nn::TensorArchive old_archive;
  old_archive.tensors["w"] = Tensor{1.0f};
  nn::write_safetensors(target, old_archive);
  std::filesystem::permissions(target, std::filesystem::perms(0600));
  std::filesystem::create_symlink("real/model.safetensors", dir / "latest.safetensors");
  nn::write_safetensors(dir / "latest.safetensors", sample_archive());
  CHECK(std::filesystem::is_symlink(dir / "latest.safetensors"));
  CHECK(nn::read_safetensors(target).tensors.size() == sample_archive().tensors.size());
  CHECK((std::filesystem::status(target).permissions() & std::filesystem::perms::all) ==
        std::filesystem::perms(0600));  // the replaced file's mode is kept
  // A dangling link creates its target; a loop is an error.
  std::filesystem::create_symlink("real/new.safetensors", dir / "dangling.safetensors");
  nn::write_safetensors(dir / "dangling.safetensors", old_archive);
  CHECK(std::filesystem::is_symlink(dir / "dangling.safetensors"));
  CHECK(nn::read_safetensors(dir / "real" / "new.safetensors").tensors.at("w") == Tensor{1.0f});
  std::filesystem::create_symlink("loop.safetensors", dir / "loop.safetensors");
  CHECK_THROWS_WITH_AS(nn::write_safetensors(dir / "loop.safetensors", old_archive),
                       doctest::Contains("more than 40 links"), tg::Error);
  CHECK(temp_files_in(dir.path()) == 0);
  CHECK(temp_files_in(dir / "real") == 0);
}

TEST_CASE("temporaries of writers that are gone are removed, those of live ones kept") {
  TempDir dir("st_stale");
  const auto path = dir / "model.safetensors";
  const std::string prefix = nn::detail::AtomicFile::temporary_prefix("model.safetensors");
  const pid_t dead = ::fork();  // a pid that surely belongs to no process once reaped
  REQUIRE(dead >= 0);
  if (dead == 0) _exit(0);
  REQUIRE(::waitpid(dead, nullptr, 0) == dead);
  write_bytes(dir / (prefix + std::to_string(dead) + ".3"), "half a file");
  write_bytes(dir / (prefix + std::to_string(::getppid()) + ".0"), "someone else's, running");
  write_bytes(dir / (prefix + "notapid.0"), "not ours");
  write_bytes(dir / ".other.safetensors.tg-tmp.1.0", "another target's");
  nn::write_safetensors(path, sample_archive());
  CHECK(!std::filesystem::exists(dir / (prefix + std::to_string(dead) + ".3")));
  CHECK(std::filesystem::exists(dir / (prefix + std::to_string(::getppid()) + ".0")));
  CHECK(std::filesystem::exists(dir / (prefix + "notapid.0")));
  CHECK(std::filesystem::exists(dir / ".other.safetensors.tg-tmp.1.0"));
}

TEST_CASE("an empty tensor whose other dimensions overflow the strides is refused") {
  // 0 x 2^21 x 2^21 x 2^21: no bytes, but a stride of 2^63 elements (signed overflow in
  // xtensor) — issue 36, finding 9.
  TempDir dir("st_strides");
  const std::string header =
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[0,2097152,2097152,2097152],\"data_offsets\":[0,0]}}";
  nn_test::write_bytes(dir / "w.safetensors", safetensors_bytes(header, ""));
  CHECK_THROWS_WITH_AS(nn::read_safetensors(dir / "w.safetensors"),
                       doctest::Contains("overflows"), tg::Error);
  // Within the limit it reads as the empty tensor it is.
  const std::string ok =
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[0,2097152,2097152],\"data_offsets\":[0,0]}}";
  nn_test::write_bytes(dir / "ok.safetensors", safetensors_bytes(ok, ""));
  CHECK(nn::read_safetensors(dir / "ok.safetensors").tensors.at("w").size() == 0);
}

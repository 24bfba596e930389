// Writes the seed corpora of fuzz_safetensors and fuzz_checkpoint with the library's own
// writers, plus the regression files of issue 12 (findings 2 and 3): a header nested 100,000
// deep, and one with 40,000 entries (quadratic before: 22 s). With ONNX, fuzz_weights' too:
// an export of its model and initializers whose dims are -1, 2^40 or overflow (issue 36,
// finding 9). Usage:
//   make_corpus_files <fuzz/corpus>   (writes <dir>/safetensors/*, <dir>/checkpoint/*,
//                                      <dir>/weights/* and
//                                      <dir>/../regressions/safetensors-many-entries.safetensors)
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_checkpoint_net.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

#ifdef TAPEGRAD_FUZZ_WEIGHTS
#include <onnx/onnx_pb.h>

#include <tapegrad/deploy/export.hpp>
#endif

namespace fs = std::filesystem;

namespace {

using Net = tg_fuzz::CheckpointNet;

void train_step(Net& net, tg::optim::Optimizer& opt) {
  opt.zero_grad();
  tg::sum(net.forward(tg::Variable(tg::ones({4, 3}).value()))).backward();
  opt.step();
}

// A safetensors file from a header text and a data section (no checksums: as PyTorch's).
void write_raw(const fs::path& path, const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
  std::ofstream(path, std::ios::binary) << out << header << data;
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// Large inputs raise libFuzzer's max_len for a whole run: the checkpoint corpus gets the small
// variant (10,000 deep, a 20 KB error message before), the safetensors one the found inputs.
void regressions(const fs::path& dir, bool full) {
  write_raw(dir / "regress-deep-metadata.safetensors",
            "{\"__metadata__\":{\"k\":" + nested(10'000) + "}}");
  if (!full) return;
  write_raw(dir / "regress-deep-shape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":" +
                                                        nested(100'000) +
                                                        ",\"data_offsets\":[0,0]}}");
  // Kept out of the corpus (in <dir>/../regressions): at 430 KB it would slow every fuzzing run
  // 20-fold; run once as `fuzz_safetensors regressions/*`, and tests/nn covers 100,000 entries.
  std::string many = "{";
  for (int i = 0; i < 40'000; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\":{}";
  fs::create_directories(dir.parent_path().parent_path() / "regressions");
  write_raw(dir.parent_path().parent_path() / "regressions" / "safetensors-many-entries.safetensors",
            many + "}");
}

#ifdef TAPEGRAD_FUZZ_WEIGHTS
// The exported model with its Linear weight's dims replaced by `dims` (data left as it was).
void write_crafted(const fs::path& seed, const fs::path& path, std::vector<std::int64_t> dims) {
  ::onnx::ModelProto model;
  std::ifstream in(seed, std::ios::binary);
  if (!model.ParseFromIstream(&in)) throw std::runtime_error("cannot parse " + seed.string());
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.name() != "3.weight") continue;
    t.clear_dims();
    for (std::int64_t d : dims) t.add_dims(d);
  }
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
}

// The exported model with its Linear weight as ONNX external data in the input file itself
// (fuzz_weights writes each input as model.onnx): the external-data reader gets fuzzed too.
void write_external(const fs::path& seed, const fs::path& path) {
  ::onnx::ModelProto model;
  std::ifstream in(seed, std::ios::binary);
  if (!model.ParseFromIstream(&in)) throw std::runtime_error("cannot parse " + seed.string());
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.name() != "3.weight") continue;
    const std::size_t length = t.raw_data().size();
    t.clear_raw_data();
    t.set_data_location(::onnx::TensorProto::EXTERNAL);
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"location", "model.onnx"},
                                     {"offset", "16"},
                                     {"length", std::to_string(length)}}) {
      auto& e = *t.add_external_data();
      e.set_key(key);
      e.set_value(value);
    }
  }
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
}

void weights_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  auto model = tg::nn::Sequential(tg::nn::Conv2d(1, 2, 3), tg::nn::BatchNorm2d(2),
                                  tg::nn::Flatten(), tg::nn::Linear(8, 3));
  const fs::path seed = dir / "seed-model.onnx";
  tg::onnx::export_model(model, tg::zeros({1, 1, 4, 4}).value(), seed);
  write_crafted(seed, dir / "regress-dim-negative.onnx", {3, -1});
  write_crafted(seed, dir / "regress-dim-2e40.onnx", {3, std::int64_t{1} << 40});
  write_crafted(seed, dir / "regress-dims-overflow.onnx",
                {std::int64_t{1} << 32, std::int64_t{1} << 32, 4});
  write_external(seed, dir / "seed-external-self.onnx");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path root = argv[1];
  const fs::path st = root / "safetensors", ck = root / "checkpoint";
  fs::create_directories(st);
  fs::create_directories(ck);

  auto model = tg::nn::Sequential(tg::nn::Conv2d(1, 2, 3), tg::nn::BatchNorm2d(2),
                                  tg::nn::Flatten(), tg::nn::Linear(8, 3));
  tg::nn::save(model, st / "seed-model.safetensors", {{"format", "pt"}});
  tg::nn::TensorArchive dtypes;  // F32 and I64, the dtypes tapegrad writes
  dtypes.tensors["w"] = tg::Tensor{1.0f, -2.0f};
  dtypes.tensors["n"] = tg::Tensor{7.0f};
  dtypes.dtypes["n"] = tg::nn::Dtype::I64;
  tg::nn::write_safetensors(st / "seed-dtypes.safetensors", dtypes);
  write_raw(st / "seed-torch.safetensors",
            "{\"0.bias\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
            "\"__metadata__\":{\"format\":\"pt\"}}",
            std::string("\x80\x3f\x00\x40", 4));
  regressions(st, true);

  Net net;
  tg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  tg::optim::StepLR scheduler(sgd, 2, 0.5);
  train_step(net, sgd);
  scheduler.step();
  tg::optim::save_checkpoint(ck / "seed-sgd.safetensors", net, sgd, &scheduler, 1,
                             {{"note", "seed"}});
  Net net2;
  tg::optim::Adam adam(net2.parameters());
  train_step(net2, adam);
  tg::optim::save_checkpoint(ck / "seed-adam.safetensors", net2, adam, nullptr, 3);
  regressions(ck, false);
#ifdef TAPEGRAD_FUZZ_WEIGHTS
  weights_corpus(root / "weights");
#endif
  return 0;
}

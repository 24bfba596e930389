// Writes the seed corpora of fuzz_safetensors and fuzz_checkpoint with the library's own
// writers, plus the regression files of issue 12 (findings 2 and 3): a header nested 100,000
// deep, and one with 40,000 entries (quadratic before: 22 s). Usage:
//   make_corpus_files <fuzz/corpus>   (writes <dir>/safetensors/*, <dir>/checkpoint/* and
//                                      <dir>/../regressions/safetensors-many-entries.safetensors)
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_checkpoint_net.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

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
  return 0;
}

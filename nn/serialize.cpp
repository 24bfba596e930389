#include "tapegrad/nn/serialize.hpp"

#include <cmath>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/nn/normalization.hpp"

namespace tg::nn {

TensorArchive to_archive(const StateDict& dict) {
  TensorArchive archive;
  for (const auto& e : dict) {
    archive.tensors[e.name] = e.value;
    if (e.dtype != Dtype::F32) archive.dtypes[e.name] = e.dtype;
  }
  return archive;
}

void save(const Module& module, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata) {
  TensorArchive archive = to_archive(module.state_dict());
  archive.metadata = metadata;
  write_safetensors(path, archive);
}

namespace {

// The first element of `dict[key]` (if present) failing `ok`, as an error.
template <class Ok>
void check_each(const std::map<std::string, Tensor>& dict, const std::string& key, Ok ok,
                const char* what) {
  const auto it = dict.find(key);
  if (it == dict.end()) return;
  const float* v = it->second.data();
  for (std::size_t i = 0; i < it->second.size(); ++i)
    TG_CHECK(ok(v[i]), "load_state_dict: expected '", detail::clip(key), "' to hold ", what,
             ", got ", v[i], " at index ", i);
}

}  // namespace

void check_state_values(const Module& module, const std::map<std::string, Tensor>& dict) {
  for (const auto& [prefix, m] : module.named_modules()) {
    const auto* bn = dynamic_cast<const BatchNormImpl*>(m);
    if (!bn || !bn->options.track_running_stats) continue;
    const std::string dot = prefix.empty() ? "" : prefix + ".";
    check_each(dict, dot + "running_mean", [](float v) { return std::isfinite(v); },
               "finite means");
    check_each(dict, dot + "running_var", [](float v) { return std::isfinite(v) && v >= 0; },
               "variances (finite, >= 0)");
    check_each(dict, dot + "num_batches_tracked",
               [](float v) { return std::isfinite(v) && v >= 0 && std::nearbyint(v) == v; },
               "a count (an integer >= 0)");
  }
}

void load(Module& module, const std::filesystem::path& path, bool strict) {
  TensorArchive archive = read_safetensors(path);
  try {
    check_state_values(module, archive.tensors);
    module.load_state_dict(archive.tensors, strict);
  } catch (const Error& e) {
    throw Error("load: '" + path.string() + "': " + e.what());
  }
}

}  // namespace tg::nn

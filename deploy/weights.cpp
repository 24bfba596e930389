#include "tapegrad/deploy/weights.hpp"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <map>

#include "tapegrad/autograd/error.hpp"

namespace tg::onnx {

namespace {

::onnx::ModelProto read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  TG_CHECK(in, "load_weights: expected a readable file, got ", path.string(), " (",
           std::strerror(errno), ")");
  ::onnx::ModelProto model;
  TG_CHECK(model.ParseFromIstream(&in), "load_weights: expected an ONNX model in ", path.string(),
           ", got bytes protobuf cannot parse as one");
  return model;
}

// An initializer's values as a tensor of its shape (float only: what a state dict holds).
Tensor to_tensor(const ::onnx::TensorProto& t, const std::filesystem::path& path) {
  TG_CHECK(t.data_type() == ::onnx::TensorProto::FLOAT, "load_weights: expected '", t.name(),
           "' in ", path.string(), " to be float, got ONNX data type ", t.data_type());
  Shape shape;
  for (std::int64_t d : t.dims()) shape.push_back(static_cast<std::size_t>(d));
  Tensor out = empty_tensor(shape);
  const std::size_t bytes = out.size() * sizeof(float);
  if (!t.raw_data().empty()) {
    TG_CHECK(t.raw_data().size() == bytes, "load_weights: expected ", bytes, " bytes for '",
             t.name(), "' ", shape_str(shape), " in ", path.string(), ", got ", t.raw_data().size());
    std::memcpy(out.data(), t.raw_data().data(), bytes);
  } else {
    TG_CHECK(static_cast<std::size_t>(t.float_data_size()) == out.size(), "load_weights: expected ",
             out.size(), " values for '", t.name(), "' ", shape_str(shape), " in ", path.string(),
             ", got ", t.float_data_size());
    std::copy(t.float_data().begin(), t.float_data().end(), out.data());
  }
  return out;
}

}  // namespace

void load_weights(nn::Module& model, const std::filesystem::path& path, bool strict) {
  const ::onnx::ModelProto proto = read(path);
  std::map<std::string, const ::onnx::TensorProto*> initializers;
  for (const auto& t : proto.graph().initializer()) initializers[t.name()] = &t;
  nn::StateDict dict = model.state_dict();  // current values: kept where the file has none
  std::string missing;
  for (const nn::StateEntry& entry : model.state_dict()) {
    auto it = initializers.find(entry.name);
    if (it != initializers.end())
      dict.insert(entry.name, to_tensor(*it->second, path), entry.dtype);
    else if (!entry.name.ends_with("num_batches_tracked"))
      missing += (missing.empty() ? "" : ", ") + entry.name;
  }
  TG_CHECK(!strict || missing.empty(), "load_weights: expected every parameter and buffer in ",
           path.string(), ", got none for: ", missing);
  model.load_state_dict(dict);  // checks shapes, changes nothing when it throws
}

}  // namespace tg::onnx

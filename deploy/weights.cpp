#include "tapegrad/deploy/weights.hpp"

#include <onnx/onnx_pb.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <map>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/nn/safetensors.hpp"

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

std::uint64_t parse_u64(const std::string& text, const std::string& what, const char* key) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  TG_CHECK(r.ec == std::errc() && r.ptr == text.data() + text.size() && !text.empty(), what,
           ": expected the external data's ", key, " to be a number, got '",
           nn::detail::clip(text), "'");
  return v;
}

// An initializer stored as ONNX external data: `length` bytes at `offset` in the file
// `location`, relative to the model's folder (what export_model writes for a model over 2 GiB,
// and onnx.save_model(..., save_as_external_data=True)). A location leaving that folder
// (absolute, or with "..") is refused.
Tensor read_external(const ::onnx::TensorProto& t, const Shape& shape, std::size_t bytes,
                     const std::filesystem::path& path, const std::string& what) {
  std::string location;
  std::uint64_t offset = 0, length = bytes;
  for (const auto& e : t.external_data()) {
    if (e.key() == "location") location = e.value();
    else if (e.key() == "offset") offset = parse_u64(e.value(), what, "offset");
    else if (e.key() == "length") length = parse_u64(e.value(), what, "length");
  }
  const std::filesystem::path relative(location);
  bool inside = !location.empty() && relative.is_relative();
  for (const auto& part : relative) inside = inside && part != "..";
  TG_CHECK(inside, what, ": expected external data in a file inside the model's folder, got "
           "location '", nn::detail::clip(location), "'");
  TG_CHECK(length == bytes, what, ": expected ", bytes, " bytes of external data for ",
           shape_str(shape), ", got a length of ", length);
  const std::filesystem::path file = path.parent_path() / relative;
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(file, ec);
  TG_CHECK(!ec, what, ": cannot read its external data file ", file.string(), " (",
           ec.message(), ")");
  TG_CHECK(offset <= size && bytes <= size - offset, what, ": expected ", bytes, " bytes at "
           "offset ", offset, " of ", file.string(), ", got a ", size, "-byte file");
  Tensor out = checked_empty(shape, what);
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
  TG_CHECK(in && static_cast<std::size_t>(in.gcount()) == bytes, what, ": cannot read ", bytes,
           " bytes at offset ", offset, " of ", file.string());
  return out;
}

// An initializer's values as a tensor of its shape (float only: what a state dict holds).
Tensor to_tensor(const ::onnx::TensorProto& t, const std::filesystem::path& path) {
  TG_CHECK(t.data_type() == ::onnx::TensorProto::FLOAT, "load_weights: expected '", t.name(),
           "' in ", path.string(), " to be float, got ONNX data type ", t.data_type());
  const std::string what = "load_weights: '" + t.name() + "' in " + path.string();
  const Shape shape = checked_shape({t.dims().begin(), t.dims().end()}, what);
  // The file's data must match the dims before anything is allocated from them.
  const std::size_t numel = numel_of(shape), bytes = numel * sizeof(float);
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
    return read_external(t, shape, bytes, path, what);
  if (!t.raw_data().empty()) {
    TG_CHECK(t.raw_data().size() == bytes, "load_weights: expected ", bytes, " bytes for '",
             t.name(), "' ", shape_str(shape), " in ", path.string(), ", got ", t.raw_data().size());
  } else {
    TG_CHECK(static_cast<std::size_t>(t.float_data_size()) == numel, "load_weights: expected ",
             numel, " values for '", t.name(), "' ", shape_str(shape), " in ", path.string(),
             ", got ", t.float_data_size());
  }
  Tensor out = checked_empty(shape, what);
  if (!t.raw_data().empty())
    std::memcpy(out.data(), t.raw_data().data(), bytes);
  else
    std::copy(t.float_data().begin(), t.float_data().end(), out.data());
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

#include "tapegrad/autograd/device.hpp"

#include <ostream>
#include <sstream>

#include "tapegrad/autograd/error.hpp"

namespace tg {

Device::Device(DeviceType type, std::int16_t index) : type_(type), index_(index) {
  TG_CHECK(index >= -1, "Device: expected an index >= -1, got ", index);
  TG_CHECK(type != DeviceType::CPU || index <= 0,
           "Device: expected CPU device index 0 or none, got ", index);
}

namespace {
Device parse(const std::string& name) {
  if (name == "cpu") return Device(DeviceType::CPU);
  if (name == "cuda") return Device(DeviceType::CUDA);
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() < 10 &&
      name.find_first_not_of("0123456789", 5) == std::string::npos)
    return Device(DeviceType::CUDA, static_cast<std::int16_t>(std::stoi(name.substr(5))));
  if (name == "cpu:0") return Device(DeviceType::CPU, 0);
  throw Error(detail::concat("Device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"", name,
                             "\""));
}
}  // namespace

Device::Device(const std::string& name) : Device(parse(name)) {}

std::string Device::str() const {
  std::ostringstream s;
  s << (is_cpu() ? "cpu" : "cuda");
  if (has_index()) s << ':' << index_;
  return s.str();
}

std::ostream& operator<<(std::ostream& out, const Device& device) { return out << device.str(); }
std::ostream& operator<<(std::ostream& out, DeviceType type) {
  return out << (type == DeviceType::CPU ? "cpu" : "cuda");
}

void check_cpu_device(const Device& device, const char* what) {
  TG_CHECK(device.is_cpu(), "tapegrad runs on the CPU only: ", what, " was asked for device ",
           device.str(), "; use tg::kCPU (tg::cuda::is_available() is false)");
}

namespace cuda {
bool is_available() { return false; }
std::size_t device_count() { return 0; }
bool cudnn_is_available() { return false; }
}  // namespace cuda

}  // namespace tg

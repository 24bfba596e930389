#pragma once
// LibTorch's device vocabulary, so that device code of a LibTorch program compiles and runs
// unchanged: tapegrad computes on the CPU only, so the CPU device is accepted everywhere (moving
// to it changes nothing) and a CUDA device is a tg::Error naming what was asked.
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace tg {

/// The kind of a device, as LibTorch's c10::DeviceType.
enum class DeviceType : std::int8_t {
  CPU = 0,   ///< the processor: the only device tapegrad computes on
  CUDA = 1,  ///< an NVIDIA GPU: named so that LibTorch code compiles; using it throws tg::Error
};

/// LibTorch's kCPU: the CPU device type.
inline constexpr DeviceType kCPU = DeviceType::CPU;
/// LibTorch's kCUDA: named for porting; any tensor or module moved to it throws tg::Error.
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

/// A device: a type and an index (-1: the current one), as LibTorch's torch::Device.
/// Constructing a CUDA device is allowed (programs build one before asking
/// cuda::is_available()); moving a tensor or module to it throws tg::Error.
class Device {
 public:
  /// The device of type `type`, index `index` (-1: unspecified). Implicit, as LibTorch's, so
  /// that `x.to(tg::kCPU)` works.
  Device(DeviceType type, std::int16_t index = -1);
  /// Parses "cpu", "cuda", "cuda:1" (LibTorch's strings); anything else throws tg::Error.
  Device(const std::string& name);
  /// Same as the std::string form (so that `tg::Device("cpu")` is not ambiguous).
  Device(const char* name) : Device(std::string(name)) {}

  /// The device's type.
  DeviceType type() const { return type_; }
  /// Its index, -1 when none was given.
  std::int16_t index() const { return index_; }
  /// Whether an index was given.
  bool has_index() const { return index_ >= 0; }
  /// Whether this is the CPU.
  bool is_cpu() const { return type_ == DeviceType::CPU; }
  /// Whether this is a CUDA device.
  bool is_cuda() const { return type_ == DeviceType::CUDA; }
  /// "cpu", "cuda" or "cuda:1", as LibTorch's Device::str().
  std::string str() const;

  /// Same type and index.
  friend bool operator==(const Device& a, const Device& b) {
    return a.type_ == b.type_ && a.index_ == b.index_;
  }

 private:
  DeviceType type_;
  std::int16_t index_;
};

/// Prints str() ("cpu").
std::ostream& operator<<(std::ostream& out, const Device& device);
/// Prints "cpu" or "cuda".
std::ostream& operator<<(std::ostream& out, DeviceType type);

/// Throws tg::Error unless `device` is the CPU; `what` names the caller ("Variable::to").
void check_cpu_device(const Device& device, const char* what);

namespace cuda {
/// Always false: tapegrad runs on the CPU only (LibTorch's torch::cuda::is_available()).
bool is_available();
/// Always 0: no CUDA devices are used (LibTorch's torch::cuda::device_count()).
std::size_t device_count();
/// Always false (LibTorch's torch::cuda::cudnn_is_available()).
bool cudnn_is_available();
}  // namespace cuda

}  // namespace tg

#pragma once
// LibTorch's TensorOptions and dtype names, so that factory calls of a LibTorch program
// (`tg::ones({2, 2}, tg::requires_grad())`, `tg::zeros(n, tg::kFloat32)`) port by renaming.
// tapegrad's Variable holds float32 only: the other dtypes exist so that code naming them
// compiles, and a factory given one throws tg::Error saying so.
#include <cstdint>
#include <iosfwd>

#include "tapegrad/autograd/device.hpp"

namespace tg {

/// Element types as LibTorch's c10::ScalarType. Only Float is stored by tapegrad.
enum class ScalarType : std::int8_t {
  Float,     ///< float32: what every Variable and Tensor holds
  Double,    ///< float64 (named for porting; a factory given it throws tg::Error)
  Half,      ///< float16 (named for porting; throws)
  BFloat16,  ///< bfloat16 (named for porting; throws)
  Long,      ///< int64 (named for porting; throws; class labels are tg::Labels)
  Int,       ///< int32 (named for porting; throws)
  Short,     ///< int16 (named for porting; throws)
  Char,      ///< int8 (named for porting; throws)
  Byte,      ///< uint8 (named for porting; throws)
  Bool,      ///< bool (named for porting; throws; comparisons return 0/1 float tensors)
};
/// LibTorch's name for a dtype ("Float", "Long"...).
const char* scalar_type_name(ScalarType type);
/// Prints scalar_type_name(type).
std::ostream& operator<<(std::ostream& out, ScalarType type);

/// float32, the one dtype tapegrad stores (LibTorch's torch::kFloat32).
inline constexpr ScalarType kFloat32 = ScalarType::Float;
/// float32 (LibTorch's torch::kFloat).
inline constexpr ScalarType kFloat = ScalarType::Float;
/// float64 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kFloat64 = ScalarType::Double;
/// float64 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kDouble = ScalarType::Double;
/// float16 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kFloat16 = ScalarType::Half;
/// float16 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kHalf = ScalarType::Half;
/// int64 (for porting only: factories throw tg::Error; labels are tg::Labels).
inline constexpr ScalarType kInt64 = ScalarType::Long;
/// int64 (for porting only: factories throw tg::Error; labels are tg::Labels).
inline constexpr ScalarType kLong = ScalarType::Long;
/// int32 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kInt32 = ScalarType::Int;
/// int32 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kInt = ScalarType::Int;
/// uint8 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kUInt8 = ScalarType::Byte;
/// uint8 (for porting only: factories throw tg::Error).
inline constexpr ScalarType kByte = ScalarType::Byte;
/// bool (for porting only: factories throw tg::Error).
inline constexpr ScalarType kBool = ScalarType::Bool;

/// Throws tg::Error unless `type` is float32; `what` names the caller ("zeros").
void check_float_dtype(ScalarType type, const char* what);

/// How a factory makes a tensor, as LibTorch's torch::TensorOptions: builders return a
/// modified copy (`tg::TensorOptions().dtype(tg::kFloat32).requires_grad(true)`). The dtype
/// must be float32 and the device the CPU when a factory uses the options (tg::Error
/// otherwise).
class TensorOptions {
 public:
  /// float32 on the CPU, no gradient.
  TensorOptions() = default;
  /// Options with this dtype (implicit, as LibTorch's: `tg::zeros({2}, tg::kFloat32)`).
  TensorOptions(ScalarType dtype) : dtype_(dtype) {}
  /// Options with this device (implicit, as LibTorch's: `tg::zeros({2}, device)`).
  TensorOptions(Device device) : device_(device) {}
  /// Options with this device type (`tg::zeros({2}, tg::kCPU)`).
  TensorOptions(DeviceType type) : device_(type) {}

  /// A copy that (does not) require grad.
  TensorOptions requires_grad(bool requires_grad) const {
    TensorOptions o = *this;
    o.requires_grad_ = requires_grad;
    return o;
  }
  /// A copy with this dtype (checked when a factory uses it).
  TensorOptions dtype(ScalarType dtype) const {
    TensorOptions o = *this;
    o.dtype_ = dtype;
    return o;
  }
  /// A copy with this device (checked when a factory uses it).
  TensorOptions device(Device device) const {
    TensorOptions o = *this;
    o.device_ = device;
    return o;
  }
  /// Whether tensors made with these options require grad.
  bool requires_grad() const { return requires_grad_; }
  /// The dtype asked for.
  ScalarType dtype() const { return dtype_; }
  /// The device asked for.
  Device device() const { return device_; }

 private:
  bool requires_grad_ = false;
  ScalarType dtype_ = ScalarType::Float;
  Device device_{DeviceType::CPU};
};

/// LibTorch's torch::requires_grad(): TensorOptions().requires_grad(requires_grad).
inline TensorOptions requires_grad(bool requires_grad = true) {
  return TensorOptions().requires_grad(requires_grad);
}
/// LibTorch's torch::dtype(): TensorOptions().dtype(type).
inline TensorOptions dtype(ScalarType type) { return TensorOptions().dtype(type); }
/// LibTorch's torch::device(): TensorOptions().device(device).
inline TensorOptions device(Device device) { return TensorOptions().device(device); }

/// Throws tg::Error unless `options` ask for float32 on the CPU; `what` names the factory.
void check_options(const TensorOptions& options, const char* what);

}  // namespace tg

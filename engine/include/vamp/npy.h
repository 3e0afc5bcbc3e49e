// npy: NumPy .npy files (little-endian, C order), the exchange format of vamp-cli.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace vamp {

// Reads float32/float64/int32/int64/uint8/bool arrays. Throws std::runtime_error naming the file.
at::Tensor load_npy(const std::string& path);
// Writes a contiguous CPU copy of t with its dtype.
void save_npy(const std::string& path, const at::Tensor& t);

}  // namespace vamp

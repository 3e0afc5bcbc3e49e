#include "vamp/npy.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace vamp {
namespace {

struct Descr {
  const char* code;
  at::ScalarType dtype;
};
constexpr Descr kDescrs[] = {{"<f4", at::kFloat}, {"<f8", at::kDouble}, {"<i4", at::kInt},
                             {"<i8", at::kLong},  {"|u1", at::kByte},   {"|b1", at::kBool},
                             {"<i2", at::kShort}, {"<u2", at::kShort}};

}  // namespace

at::Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  // Every length the file claims is checked against what the file holds before anything is
  // allocated for it: a 10-byte file must not ask for gigabytes.
  in.seekg(0, std::ios::end);
  const auto file_size = uint64_t(std::max<std::streamoff>(0, in.tellg()));
  in.seekg(0);
  char magic[8];
  if (!in.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY")
    throw std::runtime_error(path + ": not a .npy file");
  uint32_t header_len = 0;
  unsigned char b[4] = {0, 0, 0, 0};
  int n = magic[6] == 1 ? 2 : 4;
  in.read(reinterpret_cast<char*>(b), n);
  for (int i = n - 1; i >= 0; --i) header_len = header_len << 8 | b[i];
  if (!in || uint64_t(8 + n) + header_len > file_size)
    throw std::runtime_error(path + ": truncated header (it claims " + std::to_string(header_len) +
                             " bytes; the file has " + std::to_string(file_size) + ")");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw std::runtime_error(path + ": truncated header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")))
    throw std::runtime_error(path + ": no dtype in header");
  const std::string descr = m[1];
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
    throw std::runtime_error(path + ": Fortran-order arrays are not supported; save with C order");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw std::runtime_error(path + ": no shape in header");
  std::vector<int64_t> shape;
  std::stringstream ss(m[1].str());
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.find_first_not_of(" ") == std::string::npos) continue;
    size_t used = 0;
    long long dim = -1;
    try {
      dim = std::stoll(item, &used);
    } catch (const std::exception&) {
    }
    if (dim < 0 || item.find_first_not_of(" ", used) != std::string::npos)
      throw std::runtime_error(path + ": bad shape entry '" + item + "' in the header");
    shape.push_back(dim);
  }

  const Descr* d = nullptr;
  for (const auto& x : kDescrs)
    if (descr == x.code) d = &x;
  if (!d) throw std::runtime_error(path + ": unsupported dtype '" + descr + "' (use float32/int64/int32)");
  const uint64_t left = file_size - uint64_t(8 + n) - header_len;
  uint64_t need = c10::elementSize(d->dtype);
  for (const int64_t dim : shape)
    if (dim > 0 && need > left / uint64_t(dim)) {
      need = left + 1;  // more than the file holds (and no overflow)
      break;
    } else {
      need *= uint64_t(dim);
    }
  if (need > left)
    throw std::runtime_error(path + ": truncated data (the header's shape needs more than the " +
                             std::to_string(left) + " bytes after it)");
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(d->dtype));
  const auto bytes = std::streamsize(t.numel() * t.element_size());
  if (!in.read(static_cast<char*>(t.data_ptr()), bytes)) throw std::runtime_error(path + ": truncated data");
  if (descr == "<u2") t = t.to(at::kInt).bitwise_and(0xffff);
  return t;
}

void save_npy(const std::string& path, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  const char* code = nullptr;
  for (const auto& x : kDescrs)
    if (x.dtype == t.scalar_type() && std::string(x.code) != "<u2") code = x.code;
  if (!code) throw std::runtime_error(path + ": cannot write dtype " + std::string(c10::toString(t.scalar_type())));
  std::ostringstream shape;
  shape << "(";
  for (int64_t i = 0; i < t.dim(); ++i) shape << t.size(i) << (t.dim() == 1 || i + 1 < t.dim() ? "," : "");
  shape << ")";
  std::string header = std::string("{'descr': '") + code + "', 'fortran_order': False, 'shape': " + shape.str() + ", }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error(path + ": cannot create");
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  const char lenb[2] = {char(len & 0xff), char(len >> 8)};
  out.write(lenb, 2);
  out << header;
  out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.numel() * t.element_size()));
  if (!out) throw std::runtime_error(path + ": write error");
}

}  // namespace vamp

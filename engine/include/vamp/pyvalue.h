// pyvalue: a Python value as a checkpoint's pickle holds it (the metadata of a Checkpoint).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vamp {

// A Python value as the unpickler saw it. Only what checkpoints use is represented; anything
// else is an Opaque carrying its global's name, so BUILD/SETITEMS on it are harmless.
struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

struct PyValue {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Tensor, Global, Opaque };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                              // Str, Bytes; module.name for Global/Opaque
  std::vector<PyRef> items;                   // Tuple, List
  std::vector<std::pair<PyRef, PyRef>> dict;  // Dict, insertion order kept
  at::Tensor tensor;

  // Dict lookup by string key; nullptr when absent or when this is not a dict.
  PyRef get(const std::string& key) const;
  std::string repr() const;  // short, for error messages and `vamp-cli info`
};

// Value constructors, for building metadata to save.
PyRef py_none();
PyRef py_bool(bool v);
PyRef py_int(int64_t v);
PyRef py_float(double v);
PyRef py_str(std::string v);
PyRef py_list(std::vector<PyRef> items);
PyRef py_int_list(const std::vector<int64_t>& v);
PyRef py_dict(std::vector<std::pair<std::string, PyRef>> items);

}  // namespace vamp

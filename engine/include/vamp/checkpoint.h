// checkpoint: torch.save zip files as the released VampNet/LAC .pth are laid out.
//
// The released files are {"state_dict": OrderedDict (with _metadata), "metadata": {"kwargs": ...,
// "logs": ...}} pickled with protocol 2 inside a zip. libtorch's own pickle_load cannot read them,
// so we run a small, tolerant pickle VM: unknown globals (defaultdict, functions in "logs") become
// opaque values, storage locations such as "cuda:0" are ignored, tensors land on the CPU.
// Every zip entry's CRC-32 is verified and every pickle string must be valid UTF-8, so a
// flipped byte anywhere is an error that names the file, where torch.load would load it silently.
// Tensors are not read but mapped: they point into the file's (private, copy-on-write) mapping,
// which stays alive as long as any of them does.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "pyvalue.h"

namespace vamp {

// A model checkpoint: an ordered state_dict plus the constructor kwargs.
class Checkpoint {
 public:
  std::string path;                                            // for messages
  std::vector<std::pair<std::string, at::Tensor>> tensors;  // file order
  PyRef kwargs;                                                // dict, never null after load
  PyRef metadata;                                              // the whole metadata dict

  bool has(const std::string& key) const;
  // The tensor under key; throws naming the file and key if absent.
  const at::Tensor& at(const std::string& key) const;
  // Same, and checks the shape; throws naming file, key, expected and actual shape.
  const at::Tensor& at(const std::string& key, c10::IntArrayRef shape) const;
  // Same, but moves the tensor out, so a loader that folds weights can let go of each raw tensor
  // (and the file pages under it) as soon as it is used. at(key) afterwards throws.
  at::Tensor take(const std::string& key, c10::IntArrayRef shape);
  // Keys that start with prefix, in file order.
  std::vector<std::string> keys_with_prefix(const std::string& prefix) const;

  bool has_kwarg(const std::string& name) const;
  int64_t kwarg_int(const std::string& name) const;  // throws if absent or not an int
  int64_t kwarg_int(const std::string& name, int64_t fallback) const;
  double kwarg_float(const std::string& name, double fallback) const;
  std::vector<int64_t> kwarg_int_list(const std::string& name) const;

  // Error helper: "<path>: <what>".
  [[noreturn]] void fail(const std::string& what) const;

  void add(std::string key, at::Tensor t) { tensors.emplace_back(std::move(key), std::move(t)); }

 private:
  mutable std::map<std::string, size_t> index_;  // key -> position; the last duplicate wins
  mutable size_t indexed_ = 0;                    // tensors covered by index_ (add() only appends)
  void build_index() const;
};

// Reads a released-layout checkpoint: requires "state_dict" and "metadata" (with "kwargs").
Checkpoint load_checkpoint(const std::string& path);

// Writes `ckpt` in the released layout (zip named after the file stem, protocol 2, OrderedDict
// state_dict with a _metadata BUILD, {"kwargs": ...} metadata). torch.load reads it.
void save_checkpoint(const std::string& path, const Checkpoint& ckpt);

// The same checkpoint with its floating-point tensors stored as `dtype` (kHalf: half the file;
// load_checkpoint widens them back to fp32). Integer tensors are kept.
Checkpoint with_float_storage(const Checkpoint& ckpt, at::ScalarType dtype);

// `t` itself when it owns its memory, else a copy. Tensors read by load_checkpoint point into the
// mapped file: what a model keeps is copied, so no model keeps a file mapped or sees it change.
at::Tensor owned(const at::Tensor& t);

// The CRC-32 of t's bytes when t is exactly one record of a checkpoint file (verified by
// load_checkpoint), so they need not be read again; nullopt otherwise.
std::optional<uint32_t> record_crc32(const at::Tensor& t);

// Uninitialized contiguous memory for a weight that lives as long as its model, on transparent
// huge pages where the kernel allows them: a model's weights are fresh memory, and at 4 KiB a
// page faulting it in costs more than computing it.
at::Tensor empty_weight(c10::IntArrayRef sizes, at::ScalarType dtype = at::kFloat);

// Reads any torch.save'd pickle (e.g. dict[str, Tensor] golden files) as a PyValue tree.
PyRef load_pickle_file(const std::string& path);

// Convenience: a torch.save'd dict[str, Tensor] as a map.
std::map<std::string, at::Tensor> load_tensor_dict(const std::string& path);

}  // namespace vamp

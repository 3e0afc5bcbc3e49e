// pickle: a tolerant protocol-2 pickle VM (reader) and the small writer our checkpoints need.
#pragma once

#include "vamp/errors.h"
#include "vamp/pyvalue.h"

#include <functional>
#include <string>

namespace vamp::pickle {

// Loads the storage a BINPERSID names: ('storage', <dtype>, key, location, numel).
using StorageLoader = std::function<at::Tensor(const std::string& key, at::ScalarType dtype, int64_t numel)>;

// Runs `data` (a data.pkl) and returns the unpickled root. `where` prefixes error messages.
PyRef unpickle(const std::string& data, const StorageLoader& load_storage, const std::string& where);

// Serializes the released checkpoint layout. Storages are numbered in order of `tensors`;
// the caller writes each contiguous tensor's bytes under <prefix>/data/<index>.
std::string pickle_checkpoint(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const PyRef& metadata);

// Storage class name (torch.FloatStorage...) <-> dtype.
const char* storage_name(at::ScalarType dtype);

}  // namespace vamp::pickle

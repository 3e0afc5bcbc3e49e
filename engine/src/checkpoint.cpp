#include "vamp/checkpoint.h"

#include "heap.h"

#include "pickle.h"
#include "zip.h"

#include <ATen/Parallel.h>
#include <c10/util/accumulate.h>
#include <c10/util/strides.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

namespace vamp {

// --- PyValue --------------------------------------------------------------------------------

PyRef PyValue::get(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  PyRef found;
  for (const auto& [k, v] : dict)  // last one wins, as in Python
    if (k->kind == Kind::Str && k->s == key) found = v;
  return found;
}

std::string PyValue::repr() const {
  std::ostringstream o;
  switch (kind) {
    case Kind::None: o << "None"; break;
    case Kind::Bool: o << (b ? "True" : "False"); break;
    case Kind::Int: o << i; break;
    case Kind::Float: o << f; break;
    case Kind::Str: o << "'" << s << "'"; break;
    case Kind::Bytes: o << "b<" << s.size() << " bytes>"; break;
    case Kind::Tensor: o << "tensor" << tensor.sizes(); break;
    case Kind::Global: o << "<global " << s << ">"; break;
    case Kind::Opaque: o << "<" << s << " object>"; break;
    case Kind::Tuple:
    case Kind::List: {
      o << (kind == Kind::List ? "[" : "(");
      for (size_t n = 0; n < items.size(); ++n) o << (n ? ", " : "") << items[n]->repr();
      o << (kind == Kind::List ? "]" : ")");
      break;
    }
    case Kind::Dict: {
      o << "{";
      for (size_t n = 0; n < dict.size(); ++n) o << (n ? ", " : "") << dict[n].first->repr() << ": " << dict[n].second->repr();
      o << "}";
      break;
    }
  }
  return o.str();
}

namespace {
PyRef make(PyValue::Kind k) {
  auto v = std::make_shared<PyValue>();
  v->kind = k;
  return v;
}
}  // namespace

PyRef py_none() { return make(PyValue::Kind::None); }
PyRef py_bool(bool v) { auto r = make(PyValue::Kind::Bool); r->b = v; return r; }
PyRef py_int(int64_t v) { auto r = make(PyValue::Kind::Int); r->i = v; return r; }
PyRef py_float(double v) { auto r = make(PyValue::Kind::Float); r->f = v; return r; }
PyRef py_str(std::string v) { auto r = make(PyValue::Kind::Str); r->s = std::move(v); return r; }
PyRef py_list(std::vector<PyRef> items) { auto r = make(PyValue::Kind::List); r->items = std::move(items); return r; }
PyRef py_int_list(const std::vector<int64_t>& v) {
  std::vector<PyRef> items;
  for (auto x : v) items.push_back(py_int(x));
  return py_list(std::move(items));
}
PyRef py_dict(std::vector<std::pair<std::string, PyRef>> items) {
  auto r = make(PyValue::Kind::Dict);
  for (auto& [k, v] : items) r->dict.emplace_back(py_str(k), std::move(v));
  return r;
}

// --- Checkpoint -----------------------------------------------------------------------------

void Checkpoint::fail(const std::string& what) const { throw CheckpointError(path + ": " + what); }

void Checkpoint::build_index() const {
  if (indexed_ > tensors.size()) index_.clear(), indexed_ = 0;  // tensors was shrunk or replaced
  for (; indexed_ < tensors.size(); ++indexed_) index_[tensors[indexed_].first] = indexed_;
}

bool Checkpoint::has(const std::string& key) const {
  build_index();
  return index_.count(key) > 0;
}

const at::Tensor& Checkpoint::at(const std::string& key) const {
  build_index();
  auto it = index_.find(key);
  if (it == index_.end()) fail("missing key '" + key + "' in state_dict");
  const at::Tensor& t = tensors[it->second].second;
  if (!t.defined()) fail("key '" + key + "' was already taken from the state_dict");
  return t;
}

const at::Tensor& Checkpoint::at(const std::string& key, c10::IntArrayRef shape) const {
  const at::Tensor& t = at(key);
  if (t.sizes() != shape) {
    std::ostringstream o;
    o << "key '" << key << "' has shape " << t.sizes() << ", expected " << shape;
    fail(o.str());
  }
  return t;
}

at::Tensor Checkpoint::take(const std::string& key, c10::IntArrayRef shape) {
  at(key, shape);
  return std::move(tensors[index_.at(key)].second);
}

std::vector<std::string> Checkpoint::keys_with_prefix(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& [k, t] : tensors)
    if (k.compare(0, prefix.size(), prefix) == 0) out.push_back(k);
  return out;
}

bool Checkpoint::has_kwarg(const std::string& name) const {
  auto v = kwargs ? kwargs->get(name) : nullptr;
  return v && v->kind != PyValue::Kind::None;
}

int64_t Checkpoint::kwarg_int(const std::string& name) const {
  auto v = kwargs ? kwargs->get(name) : nullptr;
  if (!v) fail("missing metadata.kwargs['" + name + "']");
  if (v->kind == PyValue::Kind::Int) return v->i;
  if (v->kind == PyValue::Kind::Bool) return v->b;
  fail("metadata.kwargs['" + name + "'] is " + v->repr() + ", expected an integer");
}

int64_t Checkpoint::kwarg_int(const std::string& name, int64_t fallback) const {
  return has_kwarg(name) ? kwarg_int(name) : fallback;
}

double Checkpoint::kwarg_float(const std::string& name, double fallback) const {
  auto v = kwargs ? kwargs->get(name) : nullptr;
  if (!v || v->kind == PyValue::Kind::None) return fallback;
  if (v->kind == PyValue::Kind::Float) return v->f;
  if (v->kind == PyValue::Kind::Int) return double(v->i);
  fail("metadata.kwargs['" + name + "'] is " + v->repr() + ", expected a number");
}

std::vector<int64_t> Checkpoint::kwarg_int_list(const std::string& name) const {
  auto v = kwargs ? kwargs->get(name) : nullptr;
  if (!v) fail("missing metadata.kwargs['" + name + "']");
  std::vector<int64_t> out;
  if (v->kind == PyValue::Kind::List || v->kind == PyValue::Kind::Tuple)
    for (const auto& x : v->items)
      if (x->kind == PyValue::Kind::Int) out.push_back(x->i);
      else fail("metadata.kwargs['" + name + "'] is " + v->repr() + ", expected a list of integers");
  else
    fail("metadata.kwargs['" + name + "'] is " + v->repr() + ", expected a list of integers");
  return out;
}

// --- reading --------------------------------------------------------------------------------

namespace {

// A storage's bytes inside a mapped checkpoint file, and their (verified) CRC-32.
struct MappedBytes {
  std::shared_ptr<zip::Mapping> map;
  uint8_t* data;
  size_t size;
  uint32_t crc;
};

// When a storage dies, the pages wholly inside it leave this process at once (the rest of the file
// may stay mapped for other tensors); being dead, it loses nothing, copy-on-write pages included.
void release_mapped(void* ctx) {
  auto* m = static_cast<MappedBytes*>(ctx);
  const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (uintptr_t(m->data) + page - 1) / page * page;
  const uintptr_t end = (uintptr_t(m->data) + m->size) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  delete m;
}

at::Tensor over_mapping(const zip::Reader& zip, const zip::Entry& e, at::ScalarType dtype, int64_t numel) {
  uint8_t* data = zip.data(e);
  c10::DataPtr ptr(data, new MappedBytes{zip.mapping(), data, e.size, e.crc}, &release_mapped, at::Device(at::kCPU));
  c10::Storage storage(c10::Storage::use_byte_size_t(), e.size, std::move(ptr), nullptr, false);
  return at::empty({0}, at::TensorOptions().dtype(dtype)).set_(storage, 0, {numel}, {1});
}

// The file bytes under t, or nullptr when t owns its memory.
const MappedBytes* mapped_bytes(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage() || t.storage().data_ptr().get_deleter() != &release_mapped) return nullptr;
  return static_cast<const MappedBytes*>(t.storage().data_ptr().get_context());
}

// An anonymous mapping (empty_weight's).
struct Region {
  void* data;
  size_t bytes;
};

void unmap_region(void* ctx) {
  auto* r = static_cast<Region*>(ctx);
  unmap_huge_pages(r->data, r->bytes);
  delete r;
}

}  // namespace

at::Tensor empty_weight(c10::IntArrayRef sizes, at::ScalarType dtype) {
  const size_t bytes = size_t(c10::multiply_integers(sizes)) * c10::elementSize(dtype);
  void* data = bytes >= (size_t(2) << 20) ? map_huge_pages(bytes) : nullptr;
  if (!data) return at::empty(sizes, at::TensorOptions().dtype(dtype));
  c10::DataPtr ptr(data, new Region{data, bytes}, &unmap_region, at::Device(at::kCPU));
  c10::Storage storage(c10::Storage::use_byte_size_t(), bytes, std::move(ptr), nullptr, false);
  return at::empty({0}, at::TensorOptions().dtype(dtype)).set_(storage, 0, sizes, c10::contiguous_strides(sizes));
}

at::Tensor owned(const at::Tensor& t) { return mapped_bytes(t) ? t.clone() : t; }

std::optional<uint32_t> record_crc32(const at::Tensor& t) {
  const MappedBytes* m = mapped_bytes(t);
  if (!m || !t.is_contiguous() || t.data_ptr() != m->data || t.nbytes() != m->size) return std::nullopt;
  return m->crc;
}

PyRef load_pickle_file(const std::string& path) {
  zip::Reader zip(path);
  // Every record's CRC-32 first, spread over the intra-op threads: most of the time spent here.
  const auto& entries = zip.entries();
  std::vector<char> intact(entries.size());
  at::parallel_for(0, int64_t(entries.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) intact[size_t(i)] = zip.intact(entries[size_t(i)]);
  });
  for (size_t i = 0; i < entries.size(); ++i)
    if (!intact[i]) zip.verify(entries[i]);  // throws, naming the first bad record

  const zip::Entry* pkl = nullptr;
  for (const auto& e : entries) {
    auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) pkl = &e;
  }
  if (!pkl) throw CheckpointError(path + ": no <prefix>/data.pkl record (not a torch.save zip file)");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::string("data.pkl").size());

  if (const auto* bo = zip.find(prefix + "byteorder"))
    if (zip.read(*bo) != "little") throw CheckpointError(path + ": big-endian checkpoints are not supported");

  auto load_storage = [&](const std::string& key, at::ScalarType dtype, int64_t numel) {
    const std::string name = prefix + "data/" + key;
    const zip::Entry* e = zip.find(name);
    if (!e) throw CheckpointError(path + ": missing storage record '" + name + "'");
    const size_t item = c10::elementSize(dtype);
    if (numel < 0 || e->size != uint64_t(numel) * item)
      throw CheckpointError(path + ": storage record '" + name + "' has " + std::to_string(e->size) +
                            " bytes, expected " + std::to_string(uint64_t(numel) * item));
    if (numel > 0 && uintptr_t(zip.data(*e)) % item == 0) return over_mapping(zip, *e, dtype, numel);
    // Empty, or not aligned for its type (torch.save aligns to 64 bytes): a copy.
    at::Tensor t = at::empty({numel}, at::TensorOptions().dtype(dtype));
    if (numel > 0) std::memcpy(t.data_ptr(), zip.data(*e), e->size);
    return t;
  };
  return pickle::unpickle(zip.read(*pkl), load_storage, path);
}

std::map<std::string, at::Tensor> load_tensor_dict(const std::string& path) {
  PyRef root = load_pickle_file(path);
  if (root->kind != PyValue::Kind::Dict) throw CheckpointError(path + ": top-level object is not a dict");
  std::map<std::string, at::Tensor> out;
  for (const auto& [k, v] : root->dict)
    if (k->kind == PyValue::Kind::Str && v->kind == PyValue::Kind::Tensor) out[k->s] = v->tensor;
  return out;
}

Checkpoint load_checkpoint(const std::string& path) {
  PyRef root = load_pickle_file(path);
  Checkpoint ck;
  ck.path = path;
  if (root->kind != PyValue::Kind::Dict) ck.fail("top-level object is " + root->repr() + ", expected a dict");
  PyRef sd = root->get("state_dict");
  if (!sd) ck.fail("missing 'state_dict' (not a VampNet/LAC weights file)");
  if (sd->kind != PyValue::Kind::Dict) ck.fail("'state_dict' is not a dict");
  for (const auto& [k, v] : sd->dict) {
    if (k->kind != PyValue::Kind::Str) ck.fail("state_dict key " + k->repr() + " is not a string");
    if (v->kind != PyValue::Kind::Tensor) ck.fail("state_dict['" + k->s + "'] is " + v->repr() + ", not a tensor");
    // Weights stored in half precision (our shipped set, to halve its size) are widened here, so
    // every model runs in fp32 on exactly the values in the file.
    const at::Tensor& t = v->tensor;
    const bool narrow = t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16;
    ck.add(k->s, narrow ? t.to(at::kFloat) : t);
  }
  ck.metadata = root->get("metadata");
  if (!ck.metadata) ck.fail("missing 'metadata'");
  ck.kwargs = ck.metadata->get("kwargs");
  if (!ck.kwargs || ck.kwargs->kind != PyValue::Kind::Dict) ck.fail("missing 'metadata.kwargs'");
  return ck;
}

Checkpoint with_float_storage(const Checkpoint& ckpt, at::ScalarType dtype) {
  Checkpoint out = ckpt;
  for (auto& [key, t] : out.tensors)
    if (t.is_floating_point()) t = t.to(dtype);
  return out;
}

// --- writing --------------------------------------------------------------------------------

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  std::string stem = path;
  if (auto slash = stem.rfind('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
  if (auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
  if (stem.empty()) stem = "archive";

  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [k, t] : ckpt.tensors) tensors.emplace_back(k, t.detach().to(at::kCPU).contiguous());
  PyRef metadata = ckpt.metadata ? ckpt.metadata : py_dict({{"kwargs", ckpt.kwargs ? ckpt.kwargs : py_dict({})}});

  zip::Writer w(path);
  const std::string pkl = pickle::pickle_checkpoint(tensors, metadata);
  w.add(stem + "/data.pkl", pkl.data(), pkl.size());
  w.add(stem + "/byteorder", "little", 6);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& t = tensors[i].second;
    w.add(stem + "/data/" + std::to_string(i), t.data_ptr(), size_t(t.numel()) * t.element_size());
  }
  w.add(stem + "/version", "3\n", 2);
  w.finish();
}

}  // namespace vamp

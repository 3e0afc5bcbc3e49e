#include "pickle.h"

#include <cstring>
#include <unordered_map>

namespace vamp::pickle {
namespace {

struct StorageType {
  const char* name;
  at::ScalarType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", at::kFloat},   {"DoubleStorage", at::kDouble}, {"HalfStorage", at::kHalf},
    {"BFloat16Storage", at::kBFloat16}, {"LongStorage", at::kLong}, {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},   {"CharStorage", at::kChar},     {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},     {"UntypedStorage", at::kByte},
};

bool valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

PyRef make(PyValue::Kind k) {
  auto v = std::make_shared<PyValue>();
  v->kind = k;
  return v;
}

class Machine {
 public:
  Machine(const std::string& data, const StorageLoader& load, const std::string& where)
      : d_(data), load_(load), where_(where) {}

  PyRef run() {
    while (true) {
      if (p_ >= d_.size()) fail("truncated pickle (no STOP)");
      size_t at = p_;
      uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;             // PROTO
        case 0x95: bytes(8); break;           // FRAME
        case '.': return pop();               // STOP
        case '(': marks_.push_back(stack_.size()); break;
        case '}': push(make(PyValue::Kind::Dict)); break;
        case ']': push(make(PyValue::Kind::List)); break;
        case ')': push(make(PyValue::Kind::Tuple)); break;
        case 'd': { auto v = make(PyValue::Kind::Dict); set_items(v, pop_mark()); push(v); break; }
        case 'l': { auto v = make(PyValue::Kind::List); v->items = pop_mark(); push(v); break; }
        case 't': { auto v = make(PyValue::Kind::Tuple); v->items = pop_mark(); push(v); break; }
        case 0x85: tuple_of(1); break;
        case 0x86: tuple_of(2); break;
        case 0x87: tuple_of(3); break;
        case 's': { auto val = pop(), key = pop(); set_items(top(), {key, val}); break; }
        case 'u': { auto kv = pop_mark(); set_items(top(), kv); break; }
        case 'a': { auto val = pop(); append(top(), {val}); break; }
        case 'e': { auto vs = pop_mark(); append(top(), vs); break; }
        case 'J': push_int(int32_t(le(4))); break;
        case 'K': push_int(int64_t(le(1))); break;
        case 'M': push_int(int64_t(le(2))); break;
        case 0x8a: push_long(le(1)); break;
        case 0x8b: push_long(le(4)); break;
        case 'G': push_float(); break;
        case 'X': push_str(le(4), true); break;
        case 0x8c: push_str(le(1), true); break;
        case 0x8d: push_str(le(8), true); break;
        case 'T': push_str(le(4), false); break;
        case 'U': push_str(le(1), false); break;
        case 'B': push_bytes(le(4)); break;
        case 'C': push_bytes(le(1)); break;
        case 'N': push(make(PyValue::Kind::None)); break;
        case 0x88: case 0x89: { auto v = make(PyValue::Kind::Bool); v->b = op == 0x88; push(v); break; }
        case 'c': { std::string mod = line(), name = line(); push_global(mod + "." + name); break; }
        case 0x93: { auto name = pop(), mod = pop(); push_global(mod->s + "." + name->s); break; }
        case 'R': { auto args = pop(), fn = pop(); push(call(fn, args)); break; }
        case 0x81: { auto args = pop(), cls = pop(); push(call(cls, args)); break; }
        case 'b': pop(); break;  // BUILD: object state (OrderedDict._metadata, opaque objects) is not needed
        case 'Q': { auto pid = pop(); push(persistent(pid)); break; }
        case 'q': memo_[le(1)] = top(); break;
        case 'r': memo_[le(4)] = top(); break;
        case 0x94: memo_[memo_.size()] = top(); break;
        case 'h': push(get(le(1))); break;
        case 'j': push(get(le(4))); break;
        case '0': pop(); break;
        case '1': pop_mark(); break;
        case '2': push(top()); break;
        default:
          fail("unknown or unsupported pickle opcode 0x" + hex(op) + " at byte " + std::to_string(at));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw CheckpointError(where_ + ": " + what); }
  static std::string hex(uint8_t v) {
    const char* digits = "0123456789abcdef";
    return {digits[v >> 4], digits[v & 15]};
  }

  uint8_t byte() {
    if (p_ >= d_.size()) fail("truncated pickle");
    return uint8_t(d_[p_++]);
  }
  const char* bytes(uint64_t n) {
    if (n > d_.size() - p_) fail("truncated pickle");
    const char* r = d_.data() + p_;
    p_ += n;
    return r;
  }
  uint64_t le(int n) {
    const auto* b = reinterpret_cast<const uint8_t*>(bytes(uint64_t(n)));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | b[i];
    return v;
  }
  std::string line() {
    size_t e = d_.find('\n', p_);
    if (e == std::string::npos) fail("truncated pickle (GLOBAL)");
    std::string s = d_.substr(p_, e - p_);
    p_ = e + 1;
    return s;
  }

  void push(PyRef v) { stack_.push_back(std::move(v)); }
  PyRef pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("pickle stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyRef& top() {
    if (stack_.empty()) fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty()) fail("pickle MARK missing");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> out(stack_.begin() + long(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  PyRef get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail("pickle memo " + std::to_string(idx) + " used before it was set");
    return it->second;
  }

  void tuple_of(size_t n) {
    auto v = make(PyValue::Kind::Tuple);
    v->items.resize(n);
    for (size_t i = n; i-- > 0;) v->items[i] = pop();
    push(v);
  }
  void set_items(const PyRef& target, const std::vector<PyRef>& kv) {
    if (kv.size() % 2) fail("odd number of items in SETITEMS");
    if (target->kind != PyValue::Kind::Dict) return;  // opaque objects: state not needed
    for (size_t i = 0; i < kv.size(); i += 2) target->dict.emplace_back(kv[i], kv[i + 1]);
  }
  void append(const PyRef& target, const std::vector<PyRef>& vs) {
    if (target->kind == PyValue::Kind::List) target->items.insert(target->items.end(), vs.begin(), vs.end());
  }
  void push_int(int64_t v) {
    auto r = make(PyValue::Kind::Int);
    r->i = v;
    push(r);
  }
  void push_long(uint64_t n) {
    if (n > 8) fail("integer too large in pickle");
    const auto* b = reinterpret_cast<const uint8_t*>(bytes(n));
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = v << 8 | b[i];
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    push_int(int64_t(v));
  }
  void push_float() {
    const auto* b = reinterpret_cast<const uint8_t*>(bytes(8));
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = bits << 8 | b[i];  // big-endian
    auto r = make(PyValue::Kind::Float);
    std::memcpy(&r->f, &bits, 8);
    push(r);
  }
  void push_str(uint64_t n, bool unicode) {
    auto r = make(PyValue::Kind::Str);
    r->s.assign(bytes(n), n);
    if (unicode && !valid_utf8(r->s)) fail("invalid UTF-8 in a pickle string at byte " + std::to_string(p_ - n));
    push(r);
  }
  void push_bytes(uint64_t n) {
    auto r = make(PyValue::Kind::Bytes);
    r->s.assign(bytes(n), n);
    push(r);
  }
  void push_global(const std::string& name) {
    auto r = make(PyValue::Kind::Global);
    r->s = name;
    push(r);
  }

  PyRef call(const PyRef& fn, const PyRef& args) {
    const std::string name = fn->kind == PyValue::Kind::Global ? fn->s : std::string();
    if (name == "collections.OrderedDict" || name == "collections.defaultdict" || name == "builtins.dict")
      return make(PyValue::Kind::Dict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
      return rebuild_tensor(args);
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args->items.empty() || args->items[0]->kind != PyValue::Kind::Tensor) fail("bad _rebuild_parameter");
      return args->items[0];
    }
    auto r = make(PyValue::Kind::Opaque);  // defaultdict factories, functions, numpy scalars...
    r->s = name.empty() ? "<call>" : name;
    return r;
  }

  PyRef persistent(const PyRef& pid) {
    const auto& it = pid->items;
    if (pid->kind != PyValue::Kind::Tuple || it.size() < 5 || it[0]->s != "storage")
      fail("unsupported persistent id " + pid->repr());
    std::string type = it[1]->s;
    auto dot = type.rfind('.');
    std::string cls = dot == std::string::npos ? type : type.substr(dot + 1);
    const StorageType* st = nullptr;
    for (const auto& s : kStorageTypes)
      if (cls == s.name) st = &s;
    if (!st) fail("unsupported storage type '" + type + "'");
    const std::string& key = it[2]->s;
    auto cached = storages_.find(key);
    if (cached == storages_.end())
      cached = storages_.emplace(key, load_(key, st->dtype, it[4]->i)).first;
    auto r = make(PyValue::Kind::Tensor);
    r->tensor = cached->second;
    return r;
  }

  std::vector<int64_t> ints(const PyRef& t, const char* what) {
    std::vector<int64_t> out;
    for (const auto& v : t->items) {
      if (v->kind != PyValue::Kind::Int) fail(std::string("non-integer in tensor ") + what);
      out.push_back(v->i);
    }
    return out;
  }

  PyRef rebuild_tensor(const PyRef& args) {
    const auto& a = args->items;
    if (a.size() < 4 || a[0]->kind != PyValue::Kind::Tensor || a[1]->kind != PyValue::Kind::Int)
      fail("malformed _rebuild_tensor_v2 arguments");
    const at::Tensor& storage = a[0]->tensor;
    auto size = ints(a[2], "size"), stride = ints(a[3], "stride");
    if (size.size() != stride.size()) fail("tensor size and stride disagree");
    int64_t offset = a[1]->i, last = offset;
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] < 0 || stride[i] < 0) fail("negative tensor size or stride");
      if (size[i] > 0) last += (size[i] - 1) * stride[i];
    }
    int64_t numel = 1;
    for (auto s : size) numel *= s;
    if (numel > 0 && (offset < 0 || last >= storage.numel()))
      fail("tensor view exceeds its storage (" + std::to_string(storage.numel()) + " elements)");
    auto r = make(PyValue::Kind::Tensor);
    r->tensor = storage.as_strided(size, stride, offset);
    // A view of part of a shared storage gets its own memory; a whole-storage view is kept.
    if (!(r->tensor.is_contiguous() && numel == storage.numel())) r->tensor = r->tensor.clone();
    return r;
  }

  const std::string& d_;
  const StorageLoader& load_;
  std::string where_;
  size_t p_ = 0;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
};

// --- writer -------------------------------------------------------------------------------

class Emitter {
 public:
  std::string out;
  void op(char c) { out.push_back(c); }
  void u(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
  }
  void str(const std::string& s) {
    op('X');
    u(s.size(), 4);
    out += s;
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) { op('K'); u(uint64_t(v), 1); }
    else if (v >= 0 && v < 65536) { op('M'); u(uint64_t(v), 2); }
    else if (v >= INT32_MIN && v <= INT32_MAX) { op('J'); u(uint64_t(uint32_t(int32_t(v))), 4); }
    else { op('\x8a'); op(8); u(uint64_t(v), 8); }
  }
  void floating(double f) {
    uint64_t bits;
    std::memcpy(&bits, &f, 8);
    op('G');
    for (int i = 7; i >= 0; --i) out.push_back(char((bits >> (8 * i)) & 0xff));
  }
  void global(const char* mod, const char* name) {
    op('c');
    out += mod;
    op('\n');
    out += name;
    op('\n');
  }
  void ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }
  void tuple(const std::vector<int64_t>& v) {
    op('(');
    for (auto x : v) integer(x);
    op('t');
  }
  void value(const PyRef& v) {
    switch (v->kind) {
      case PyValue::Kind::None: op('N'); break;
      case PyValue::Kind::Bool: op(v->b ? '\x88' : '\x89'); break;
      case PyValue::Kind::Int: integer(v->i); break;
      case PyValue::Kind::Float: floating(v->f); break;
      case PyValue::Kind::Str: str(v->s); break;
      case PyValue::Kind::List:
        op(']');
        if (!v->items.empty()) {
          op('(');
          for (const auto& x : v->items) value(x);
          op('e');
        }
        break;
      case PyValue::Kind::Tuple:
        op('(');
        for (const auto& x : v->items) value(x);
        op('t');
        break;
      case PyValue::Kind::Dict:
        op('}');
        if (!v->dict.empty()) {
          op('(');
          for (const auto& [k, x] : v->dict) {
            value(k);
            value(x);
          }
          op('u');
        }
        break;
      default:
        throw CheckpointError("cannot pickle a value of this kind in metadata: " + v->repr());
    }
  }
};

}  // namespace

const char* storage_name(at::ScalarType dtype) {
  for (const auto& s : kStorageTypes)
    if (s.dtype == dtype && std::strcmp(s.name, "UntypedStorage") != 0) return s.name;
  throw CheckpointError(std::string("no torch storage type for dtype ") + c10::toString(dtype));
}

PyRef unpickle(const std::string& data, const StorageLoader& load_storage, const std::string& where) {
  return Machine(data, load_storage, where).run();
}

std::string pickle_checkpoint(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const PyRef& metadata) {
  Emitter e;
  e.op('\x80');
  e.u(2, 1);
  e.op('}');
  e.op('(');
  e.str("state_dict");
  e.ordered_dict();
  e.op('(');
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& t = tensors[i].second;
    e.str(tensors[i].first);
    e.global("torch._utils", "_rebuild_tensor_v2");
    e.op('(');
    e.op('(');
    e.str("storage");
    e.global("torch", storage_name(t.scalar_type()));
    e.str(std::to_string(i));
    e.str("cpu");
    e.integer(t.numel());
    e.op('t');
    e.op('Q');
    e.integer(0);
    e.tuple(t.sizes().vec());
    e.tuple(t.contiguous().strides().vec());
    e.op('\x89');
    e.ordered_dict();
    e.op('t');
    e.op('R');
  }
  e.op('u');
  // state_dict._metadata = OrderedDict({'': {'version': 1}}), as nn.Module.state_dict() leaves it.
  e.op('}');
  e.str("_metadata");
  e.ordered_dict();
  e.str("");
  e.value(py_dict({{"version", py_int(1)}}));
  e.op('s');
  e.op('s');
  e.op('b');
  e.str("metadata");
  e.value(metadata);
  e.op('u');
  e.op('.');
  return e.out;
}

}  // namespace vamp::pickle

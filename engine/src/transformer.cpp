// transformer: VampNet forward pass (the original vampnet/modules/transformer.py), fp32, weights folded at load.
#include "vamp/transformer.h"

#include "vamp/cpu_budget.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace vamp {

namespace {

constexpr int64_t kNumBuckets = 32;  // relative attention, hard-coded in the reference
constexpr double kLoraScaling = 0.125;  // loralib alpha 1 / rank 8
constexpr double kRmsEps = 1e-6;

std::string shape_str(c10::IntArrayRef s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w) {
  // w * (x * rsqrt(mean(x^2) + eps)), as the reference's RMSNorm.
  at::Tensor var = x.pow(2).mean(-1, /*keepdim=*/true);
  return w * (x * at::rsqrt(var + kRmsEps));
}

// ---- int8 dynamic quantization through the quantized engine's ops (what torch's
// quantize_dynamic runs): quantized::linear_prepack at load, quantized::linear_dynamic per call.
// Called boxed so no engine-specific header is needed, with libtorch 1.13 and 2.x alike.

std::mutex& qengine_mutex() {
  static std::mutex m;
  return m;
}

at::QEngine qengine_by_name(const std::string& n) {
  if (n == "fbgemm") return at::QEngine::FBGEMM;
  if (n == "x86") return at::QEngine::X86;
  if (n == "onednn") return at::QEngine::ONEDNN;
  return at::QEngine::QNNPACK;
}

// w fp32 [out, in] -> packed params, weights symmetric int8 per output channel (zero point 0).
c10::IValue int8_prepack(const at::Tensor& w, const at::Tensor& bias) {
  at::Tensor wc = w.contiguous();
  at::Tensor scales = (wc.abs().amax({1}).clamp_min(1e-12) / 127.0).to(at::kDouble);
  at::Tensor zps = at::zeros({wc.size(0)}, at::kLong);
  at::Tensor qw = at::quantize_per_channel(wc, scales, zps, 0, at::kQInt8);
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  // The engine that packs is the one that runs (the packed object carries its kernels); the
  // global engine is switched only while packing.
  std::lock_guard<std::mutex> guard(qengine_mutex());
  at::Context& ctx = at::globalContext();
  const at::QEngine before = ctx.qEngine();
  ctx.setQEngine(qengine_by_name(precision_support().qengine));
  std::vector<c10::IValue> stack{qw, bias.defined() ? c10::IValue(bias.contiguous()) : c10::IValue()};
  try {
    op.callBoxed(&stack);
  } catch (...) {
    ctx.setQEngine(before);
    throw;
  }
  ctx.setQEngine(before);
  return stack.at(0);
}

at::Tensor int8_linear(const at::Tensor& x, const c10::IValue& packed, bool reduce_range) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_dynamic", "");
  std::vector<c10::IValue> stack{x, packed, reduce_range};
  op.callBoxed(&stack);
  return stack.at(0).toTensor();
}

at::Tensor int8_unpack(const c10::IValue& packed) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_unpack", "");
  std::vector<c10::IValue> stack{packed};
  op.callBoxed(&stack);
  return stack.at(0).toTensor().dequantize();
}

bool is_power_of_two(double v) {
  int e = 0;
  return v > 0 && std::frexp(v, &e) == 0.5;
}

}  // namespace

TransformerConfig TransformerConfig::preset(const std::string& name) {
  TransformerConfig c;
  if (name == "tiny-coarse" || name == "tiny-c2f") {
    c.n_heads = 4;
    c.n_layers = 2;
    c.embedding_dim = 64;
  } else if (name == "full-coarse") {
    c.n_layers = 20;
  } else if (name == "full-c2f") {
    c.n_layers = 16;
  } else {
    throw std::invalid_argument("unknown transformer preset '" + name +
                                "' (tiny-coarse, tiny-c2f, full-coarse, full-c2f)");
  }
  if (name.find("c2f") != std::string::npos) {
    c.n_codebooks = 14;
    c.n_conditioning_codebooks = 4;
  }
  return c;
}

int64_t Transformer::relative_bucket(int64_t rel) {
  // bucket = 16*[rel > 0] + (|rel| < 8 ? |rel| : min(15, 8 + trunc(log(|rel|/8)/log(16)*8))).
  // The log branch evaluated in float32 lands exactly on integers at 16, 32, 64, so use the
  // thresholds it produces (the reference's relative-position bucketing, transformer.py) instead of floating point.
  static const int64_t thresholds[] = {12, 16, 23, 32, 46, 64, 91};
  const int64_t n = rel < 0 ? -rel : rel;
  int64_t b = rel > 0 ? kNumBuckets / 2 : 0;
  if (n < 8) return b + n;
  int64_t large = 8;
  for (int64_t t : thresholds) large += n >= t ? 1 : 0;
  return b + large;
}

std::shared_ptr<Transformer> Transformer::load(const std::string& path, std::vector<at::Tensor> codebooks,
                                               at::Device device, Precision precision) {
  return from_checkpoint(load_checkpoint(path), std::move(codebooks), device, precision);
}

std::shared_ptr<Transformer> Transformer::from_checkpoint(Checkpoint ck, std::vector<at::Tensor> codebooks,
                                                          at::Device device, Precision precision) {
  at::NoGradGuard no_grad;
  std::shared_ptr<Transformer> m(new Transformer());
  m->path_ = ck.path;
  m->device_ = device;
  TransformerConfig& c = m->cfg_;
  c.n_heads = ck.kwarg_int("n_heads", 20);
  c.n_layers = ck.kwarg_int("n_layers", 16);
  c.n_codebooks = ck.kwarg_int("n_codebooks", 9);
  c.n_conditioning_codebooks = ck.kwarg_int("n_conditioning_codebooks", 0);
  c.latent_dim = ck.kwarg_int("latent_dim", 8);
  c.embedding_dim = ck.kwarg_int("embedding_dim", 1280);
  c.vocab_size = ck.kwarg_int("vocab_size", 1024);
  const int64_t r_cond = ck.kwarg_int("r_cond_dim", 0);
  if (r_cond != 0) ck.fail("kwarg r_cond_dim=" + std::to_string(r_cond) + ": FiLM conditioning is not supported");
  if (auto fa = ck.kwargs->get("flash_attn"); fa && fa->kind == PyValue::Kind::Bool && fa->b)
    ck.fail("kwarg flash_attn=True: only the relative-attention layout (flash_attn=False) is supported");
  const int64_t C = c.n_codebooks, Cp = C - c.n_conditioning_codebooks, D = c.embedding_dim, H = c.n_heads,
                V = c.vocab_size, Ld = c.latent_dim;
  if (C <= 0 || Cp <= 0 || c.n_conditioning_codebooks < 0)
    ck.fail("kwargs n_codebooks=" + std::to_string(C) + ", n_conditioning_codebooks=" +
            std::to_string(c.n_conditioning_codebooks) + " leave no codebook to predict");
  if (H <= 0 || D % H != 0)
    ck.fail("kwarg embedding_dim=" + std::to_string(D) + " is not a multiple of n_heads=" + std::to_string(H));
  if (c.n_layers <= 0) ck.fail("kwarg n_layers=" + std::to_string(c.n_layers) + " must be positive");
  const int64_t dh = D / H;

  // Code -> latent tables: the codec's raw codebook rows followed by the learned MASK vector.
  if (int64_t(codebooks.size()) < C)
    ck.fail("model has n_codebooks=" + std::to_string(C) + " but the codec gave " +
            std::to_string(codebooks.size()) + " codebooks");
  const at::Tensor& special = ck.at("embedding.special.MASK", {C, Ld});
  std::vector<at::Tensor> tables;
  for (int64_t i = 0; i < C; ++i) {
    const at::Tensor& cb = codebooks[size_t(i)];
    if (cb.dim() != 2 || cb.size(0) != V || cb.size(1) != Ld)
      ck.fail("codec codebook " + std::to_string(i) + " has shape " + shape_str(cb.sizes()) + ", the model needs [" +
              std::to_string(V) + ", " + std::to_string(Ld) + "] (vocab_size, latent_dim)");
    tables.push_back(at::cat({cb.to(at::kCPU, at::kFloat), special.slice(0, i, i + 1)}, 0));
  }
  m->embed_table_ = at::stack(tables, 0).contiguous();
  m->in_w_ = ck.at("embedding.out_proj.weight", {D, C * Ld, 1}).reshape({D, C * Ld});
  m->in_b_ = ck.at("embedding.out_proj.bias", {D});

  // Linear maps with optional LoRA, merged as loralib's eval() does (w + (B A) * scaling, the same
  // roundings), applied to the file literally. Written into `dst`, their final place, without a
  // temporary; the raw tensors are taken, so each goes once merged.
  auto linear = [&](at::Tensor dst, const std::string& key, bool lora) {
    const int64_t out = dst.size(0), in = dst.size(1);
    const at::Tensor w = ck.take(key + ".weight", {out, in});
    if (lora && (ck.has(key + ".lora_A") || ck.has(key + ".lora_B"))) {
      at::mm_out(dst, ck.take(key + ".lora_B", {out, 8}), ck.take(key + ".lora_A", {8, in}));
      dst.mul_(kLoraScaling).add_(w);
    } else {
      dst.copy_(w);
    }
  };

  const double sqrt_dh = std::sqrt(double(dh));
  if (is_power_of_two(sqrt_dh)) {
    m->q_scale_ = float(1.0 / sqrt_dh);  // exact: scaling by a power of two commutes with rounding
  } else {
    m->score_divisor_ = float(sqrt_dh);
  }
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "transformer.layers." + std::to_string(l) + ".";
    Layer L;
    L.norm_1 = ck.at(p + "norm_1.weight", {D});
    L.qkv.w = empty_weight({3 * D, D});
    linear(L.qkv.w.narrow(0, 0, D), p + "self_attn.w_qs", true);
    linear(L.qkv.w.narrow(0, D, D), p + "self_attn.w_ks", false);
    linear(L.qkv.w.narrow(0, 2 * D, D), p + "self_attn.w_vs", true);
    if (m->q_scale_ != 1.0f) L.qkv.w.narrow(0, 0, D).mul_(m->q_scale_);
    L.fc.w = empty_weight({D, D});
    linear(L.fc.w, p + "self_attn.fc", true);
    L.norm_3 = ck.at(p + "norm_3.weight", {D});
    L.w_1.w = empty_weight({4 * D, D});
    linear(L.w_1.w, p + "feed_forward.w_1", true);
    L.w_2.w = empty_weight({D, 2 * D});
    linear(L.w_2.w, p + "feed_forward.w_2", true);
    m->layers_.push_back(std::move(L));
  }
  m->rel_bias_weight_ = ck.at("transformer.layers.0.self_attn.relative_attention_bias.weight", {kNumBuckets, H});
  m->final_norm_ = ck.at("transformer.norm.weight", {D});

  // Weight norm (legacy torch.nn.utils.weight_norm, dim 0): W = v * (g / ||v||) per output channel.
  {
    const at::Tensor g = ck.take("classifier.layers.0.weight_g", {V * Cp, 1, 1});
    const at::Tensor v = ck.take("classifier.layers.0.weight_v", {V * Cp, D, 1});
    at::Tensor norm = v.norm(2, {1, 2}, /*keepdim=*/true);
    m->cls_.w = empty_weight({V * Cp, D, 1});
    at::mul_out(m->cls_.w, v, g / norm);
    m->cls_.w = m->cls_.w.view({V * Cp, D});
  }
  m->cls_.b = ck.at("classifier.layers.0.bias", {V * Cp});

  // Everything to the device, contiguous, in memory of its own.
  auto dev = [&](at::Tensor& t) { t = owned(t.to(device, at::kFloat).contiguous()); };
  dev(m->embed_table_);
  dev(m->in_w_);
  dev(m->in_b_);
  for (auto& L : m->layers_) {
    dev(L.norm_1);
    dev(L.qkv.w);
    dev(L.fc.w);
    dev(L.norm_3);
    dev(L.w_1.w);
    dev(L.w_2.w);
  }
  dev(m->rel_bias_weight_);
  dev(m->final_norm_);
  dev(m->cls_.w);
  dev(m->cls_.b);
  m->set_precision(precision);
  return m;
}

void Transformer::set_precision(Precision requested) {
  at::NoGradGuard no_grad;
  std::string note;
  Precision p = resolve_precision(requested, /*for_codec=*/false, &note);
  if (p == Precision::INT8 && !device_.is_cpu()) {
    p = Precision::BF16;
    note = "int8 dynamic quantization runs on the CPU only; using bf16 on " + device_.str();
  }
  precision_note_ = note;
  precision_ = p;
  if (p == Precision::FP32) return;
  reduce_range_ = p == Precision::INT8 && precision_support().qengine == "fbgemm" && !precision_support().vnni;
  // Which maps int8 quantizes; the others run bf16. fc (attention output), w_2 (gated-GELU
  // output, heavy tails) and the classifier lose most under per-tensor activation quantization
  // (test_precision: argmax agreement 94.8% all-int8 vs 96.4% this set on a d512 model), so by
  // default only the QKV and w_1 GEMMs (~70% of a layer's MACs) are int8. VAMP_INT8_LAYERS
  // (comma list of qkv, fc, w_1, w_2, cls) overrides it for experiments.
  const char* only = std::getenv("VAMP_INT8_LAYERS");
  const std::string int8_set = only && *only ? only : "qkv,w_1";
  auto convert = [&](Linear& l, const char* name) {
    if (p == Precision::BF16 || int8_set.find(name) == std::string::npos) {
      l.w16 = l.w.to(at::kBFloat16).contiguous();
      if (l.b.defined()) l.b = l.b.to(at::kBFloat16);
    } else {
      l.packed = int8_prepack(l.w, l.b);
    }
    l.w = at::Tensor();  // only the converted copy stays in memory
  };
  for (auto& L : layers_) {
    convert(L.qkv, "qkv");
    convert(L.fc, "fc");
    convert(L.w_1, "w_1");
    convert(L.w_2, "w_2");
  }
  convert(cls_, "cls");
}

at::Tensor Transformer::apply(const Linear& l, const at::Tensor& x) const {
  if (!l.packed.isNone())  // fp32 in and out
    return int8_linear(x.scalar_type() == at::kFloat ? x : x.to(at::kFloat), l.packed, reduce_range_);
  const at::Tensor xb = x.scalar_type() == at::kBFloat16 ? x : x.to(at::kBFloat16);
  if (l.b.defined()) return at::addmm(l.b, xb, l.w16.t());
  return at::mm(xb, l.w16.t());  // bf16 out (fp32 accumulation inside oneDNN)
}

at::Tensor Transformer::weight_of(const Linear& l) const {
  if (l.w.defined()) return l.w;
  if (l.w16.defined()) return l.w16.to(at::kFloat);
  return int8_unpack(l.packed);
}

void Transformer::check_codes(const at::Tensor& codes) const {
  if (!codes.defined() || codes.dim() != 3 || codes.size(1) != cfg_.n_codebooks || codes.size(2) <= 0 ||
      codes.size(0) <= 0)
    throw std::invalid_argument("codes must be [B, " + std::to_string(cfg_.n_codebooks) +
                                ", T] for this model, got " + (codes.defined() ? shape_str(codes.sizes()) : "none"));
  if (codes.scalar_type() != at::kLong) throw std::invalid_argument("codes must be int64");
  const int64_t lo = codes.min().item<int64_t>(), hi = codes.max().item<int64_t>();
  if (lo < 0 || hi > cfg_.vocab_size)
    throw std::invalid_argument("codes out of range: found " + std::to_string(lo < 0 ? lo : hi) + ", valid are 0.." +
                                std::to_string(cfg_.vocab_size) + " (" + std::to_string(cfg_.vocab_size) +
                                " = MASK)");
}

at::Tensor Transformer::bias_table(int64_t T, at::ScalarType dtype) const {
  if (dtype != at::kFloat) {
    const at::Tensor fp32 = bias_table(T);
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = bias_cache_.find({T, dtype});
    if (it != bias_cache_.end()) return it->second;
    if (bias_cache_.size() >= 16) bias_cache_.erase(bias_cache_.begin());
    return bias_cache_.emplace(std::make_pair(T, dtype), fp32.to(dtype)).first->second;
  }
  std::lock_guard<std::mutex> lock(cache_mutex_);
  auto it = bias_cache_.find({T, dtype});
  if (it != bias_cache_.end()) return it->second;
  // bucket index for every (query i, key j): rel = j - i
  std::vector<int64_t> idx(size_t(T * T));
  std::vector<int64_t> by_rel(size_t(2 * T - 1));
  for (int64_t r = -(T - 1); r <= T - 1; ++r) by_rel[size_t(r + T - 1)] = relative_bucket(r);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j) idx[size_t(i * T + j)] = by_rel[size_t(j - i + T - 1)];
  at::Tensor buckets = at::from_blob(idx.data(), {T * T}, at::kLong).to(device_);
  // [T*T, H] -> [H, T, T]
  at::Tensor table = rel_bias_weight_.index_select(0, buckets).t().reshape({cfg_.n_heads, T, T}).contiguous();
  if (bias_cache_.size() >= 16) bias_cache_.erase(bias_cache_.begin());  // bounded: lengths rarely vary
  bias_cache_.emplace(std::make_pair(T, dtype), table);
  return table;
}

at::Tensor Transformer::position_bias(int64_t T) const { return bias_table(T).unsqueeze(1); }

at::Tensor Transformer::embed(const at::Tensor& codes, at::Tensor* latents) const {
  const int64_t B = codes.size(0), C = cfg_.n_codebooks, T = codes.size(2), Ld = cfg_.latent_dim;
  at::Tensor offsets = at::arange(C, codes.options()) * (cfg_.vocab_size + 1);
  at::Tensor idx = (codes.permute({0, 2, 1}) + offsets).reshape({-1});  // [B*T*C], (b, t, c) order
  at::Tensor lat = embed_table_.view({C * (cfg_.vocab_size + 1), Ld}).index_select(0, idx).view({B * T, C * Ld});
  if (latents) *latents = lat.view({B, T, C * Ld}).permute({0, 2, 1}).contiguous();
  return at::addmm(in_b_, lat, in_w_.t());
}

at::Tensor Transformer::attention(const at::Tensor& qkv, const at::Tensor& bias, int64_t B, int64_t T) const {
  // One (row, head) pair at a time: its [T, T] score matrix stays in cache through bias add,
  // softmax and the product with V, and the pairs run in parallel (each on one thread).
  const int64_t H = cfg_.n_heads, D = cfg_.embedding_dim, dh = D / H;
  at::Tensor out = at::empty({B, T, H, dh}, qkv.options());
  const at::Tensor all = qkv.view({B, T, 3, H, dh});
  const bool folded = score_divisor_ == 1.0f;
  // bf16: each head's q, k, v contiguous ([3, B, H, T, dh]); oneDNN's small products run 1.5x
  // faster on them than on the strided views.
  const bool lowp = device_.is_cpu() && qkv.scalar_type() != at::kFloat;
  std::vector<at::Tensor> qs, ks, vs;  // per (row, head): [T, dh]
  if (lowp) {
    const at::Tensor heads = all.permute({2, 0, 3, 1, 4}).contiguous().view({3, B * H, T, dh});
    qs = heads[0].unbind(0), ks = heads[1].unbind(0), vs = heads[2].unbind(0);
  }
  auto one = [&](int64_t b, int64_t h) {
    const at::Tensor x = all[b];
    const at::Tensor q = lowp ? qs[size_t(b * H + h)] : x.select(1, 0).select(1, h);  // [T, dh]
    const at::Tensor k = lowp ? ks[size_t(b * H + h)] : x.select(1, 1).select(1, h);
    const at::Tensor v = lowp ? vs[size_t(b * H + h)] : x.select(1, 2).select(1, h);
    at::Tensor s = folded ? at::addmm(bias[h], q, k.t())  // q already carries 1/sqrt(dh)
                          : at::mm(q, k.t()).div_(double(score_divisor_)).add_(bias[h]);
    s = at::_softmax(s, -1, false);
    at::Tensor dst = out[b].select(1, h);  // [T, dh] view, row stride D
    at::mm_out(dst, s, v);
  };
  if (device_.is_cpu()) {
    at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) one(i / H, i % H);
    });
    return out.view({B * T, D});
  }
  // Accelerators: every row and head in one kernel per op instead of B * H small products.
  const at::Tensor q = all.select(2, 0).permute({0, 2, 1, 3});  // [B, H, T, dh]
  const at::Tensor k = all.select(2, 1).permute({0, 2, 1, 3});
  const at::Tensor v = all.select(2, 2).permute({0, 2, 1, 3});
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  // Fused attention with the relative position bias as the additive mask; the scale is 1 when
  // 1/sqrt(dh) is folded into the queries.
  const at::Tensor o = at::scaled_dot_product_attention(q, k, v, bias.to(q.scalar_type()).unsqueeze(0), 0.0, false,
                                                        folded ? 1.0 : 1.0 / double(score_divisor_));
#else
  at::Tensor s = at::matmul(q, k.transpose(-2, -1));
  if (!folded) s = s / double(score_divisor_);
  const at::Tensor o = at::matmul(at::softmax(s + bias.unsqueeze(0), -1), v);
#endif
  return o.permute({0, 2, 1, 3}).reshape({B * T, D});
}

at::Tensor Transformer::forward(const at::Tensor& codes, Trace* tr) const {
  at::NoGradGuard no_grad;
  check_codes(codes);
  // The widest products are the feed-forward ones, [B*T, D] x [D, 4D].
  const double dim = double(cfg_.embedding_dim);
  const CpuTurn turn(device_.is_cpu(), cpu_width(2.0 * double(codes.size(0) * codes.size(2)) * dim * 4 * dim));
  at::Tensor in = codes.to(device_);
  if (precision_ != Precision::FP32) return forward_lowp(in, tr);
  const int64_t B = in.size(0), T = in.size(2), D = cfg_.embedding_dim, Cp = n_predicted(),
                V = cfg_.vocab_size;
  at::Tensor x = embed(in, tr ? &tr->latents : nullptr);  // [B*T, D]
  if (tr) tr->embedding_out = x.view({B, T, D}).permute({0, 2, 1}).contiguous();
  const at::Tensor bias = bias_table(T);
  std::vector<at::Tensor> acts;
  for (const Layer& L : layers_) {
    at::Tensor y = rms_norm(x, L.norm_1);
    at::Tensor qkv = at::mm(y, L.qkv.w.t());
    at::Tensor o = attention(qkv, bias, B, T);
    x = at::addmm(x, o, L.fc.w.t());
    y = rms_norm(x, L.norm_3);
    at::Tensor u = at::mm(y, L.w_1.w.t());
    at::Tensor g = u.narrow(1, 0, 2 * D) * at::gelu(u.narrow(1, 2 * D, 2 * D), "tanh");
    x = at::addmm(x, g, L.w_2.w.t());
    if (tr) acts.push_back(x.view({B, T, D}));
  }
  if (tr) tr->layer_activations = at::stack(acts, 0);
  x = rms_norm(x, final_norm_);
  // classifier channel = vocab * Cp + c; sequence index n = t * Cp + c  ->  [B, T*Cp, V]
  at::Tensor out = at::addmm(cls_.b, x, cls_.w.t());  // [B*T, V*Cp]
  return out.view({B, T, V, Cp}).permute({0, 1, 3, 2}).reshape({B, T * Cp, V});
}

at::Tensor Transformer::forward_lowp(const at::Tensor& in, Trace* tr) const {
  // The fp32 graph with the five GEMMs in bf16 or int8. Residual stream and norms fp32; attention
  // bf16 (scores, softmax and the product with V: 1.25x faster forwards here, argmax agreement with
  // fp32 unchanged within test_precision's spread); the FFN gate runs in the GEMM's output type
  // (bf16: one rounding, then straight into w_2).
  const int64_t B = in.size(0), T = in.size(2), D = cfg_.embedding_dim, Cp = n_predicted(), V = cfg_.vocab_size;
  at::Tensor x = embed(in, tr ? &tr->latents : nullptr);  // [B*T, D] fp32
  if (tr) tr->embedding_out = x.view({B, T, D}).permute({0, 2, 1}).contiguous();
  const at::Tensor bias16 = bias_table(T, at::kBFloat16);
  std::vector<at::Tensor> acts;
  for (const Layer& L : layers_) {
    at::Tensor y = rms_norm(x, L.norm_1);
    at::Tensor qkv = apply(L.qkv, y);
    if (qkv.scalar_type() != at::kBFloat16) qkv = qkv.to(at::kBFloat16);
    at::Tensor o = attention(qkv, bias16, B, T);
    x.add_(apply(L.fc, o));
    y = rms_norm(x, L.norm_3);
    at::Tensor u = apply(L.w_1, y);
    at::Tensor g = u.narrow(1, 0, 2 * D) * at::gelu(u.narrow(1, 2 * D, 2 * D), "tanh");
    x.add_(apply(L.w_2, g));
    if (tr) acts.push_back(x.view({B, T, D}).clone());
  }
  if (tr) tr->layer_activations = at::stack(acts, 0);
  x = rms_norm(x, final_norm_);
  at::Tensor out = apply(cls_, x);  // [B*T, V*Cp]
  if (out.scalar_type() != at::kFloat) out = out.to(at::kFloat);
  return out.view({B, T, V, Cp}).permute({0, 1, 3, 2}).reshape({B, T * Cp, V});
}

at::Tensor Transformer::token_logits(const at::Tensor& codes) const { return forward(codes, nullptr); }

at::Tensor Transformer::logits(const at::Tensor& codes) const {
  return forward(codes, nullptr).permute({0, 2, 1}).contiguous();
}

Transformer::Trace Transformer::trace(const at::Tensor& codes) const {
  Trace tr;
  tr.logits = forward(codes, &tr).permute({0, 2, 1}).contiguous();
  return tr;
}

at::Tensor Transformer::effective_weight(const std::string& name, int64_t layer) const {
  if (layer < 0 || layer >= cfg_.n_layers) throw std::out_of_range("no layer " + std::to_string(layer));
  const Layer& L = layers_[size_t(layer)];
  const int64_t D = cfg_.embedding_dim;
  if (name == "w_qs") return weight_of(L.qkv).narrow(0, 0, D) / q_scale_;
  if (name == "w_ks") return weight_of(L.qkv).narrow(0, D, D);
  if (name == "w_vs") return weight_of(L.qkv).narrow(0, 2 * D, D);
  if (name == "fc") return weight_of(L.fc);
  if (name == "w_1") return weight_of(L.w_1);
  if (name == "w_2") return weight_of(L.w_2);
  throw std::invalid_argument("no linear map named '" + name + "'");
}

at::Tensor Transformer::classifier_weight() const { return weight_of(cls_).unsqueeze(2); }

Checkpoint random_transformer_checkpoint(const TransformerConfig& c, uint64_t seed, bool with_lora) {
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t C = c.n_codebooks, Cp = C - c.n_conditioning_codebooks, D = c.embedding_dim, H = c.n_heads,
                V = c.vocab_size, Ld = c.latent_dim;
  auto randn = [&](std::vector<int64_t> shape, double std) {
    return at::empty(shape, at::kFloat).normal_(0.0, std, gen);
  };
  Checkpoint ck;
  ck.path = "<random transformer>";
  ck.add("embedding.special.MASK", randn({C, Ld}, 1.0));
  ck.add("embedding.out_proj.weight", randn({D, C * Ld, 1}, 1.0 / std::sqrt(double(C * Ld))));
  ck.add("embedding.out_proj.bias", randn({D}, 0.02));
  auto linear = [&](const std::string& key, int64_t out, int64_t in, bool lora) {
    ck.add(key + ".weight", randn({out, in}, 1.0 / std::sqrt(double(in))));
    if (lora && with_lora) {
      ck.add(key + ".lora_A", randn({8, in}, 1.0 / std::sqrt(double(in))));
      ck.add(key + ".lora_B", randn({out, 8}, 0.05));
    }
  };
  auto norm_w = [&](const std::string& key) { ck.add(key, randn({D}, 0.1) + 1.0); };
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "transformer.layers." + std::to_string(l) + ".";
    norm_w(p + "norm_1.weight");
    linear(p + "self_attn.w_qs", D, D, true);
    linear(p + "self_attn.w_ks", D, D, false);
    linear(p + "self_attn.w_vs", D, D, true);
    linear(p + "self_attn.fc", D, D, true);
    if (l == 0) ck.add(p + "self_attn.relative_attention_bias.weight", randn({kNumBuckets, H}, 1.0));
    norm_w(p + "norm_3.weight");
    linear(p + "feed_forward.w_1", 4 * D, D, true);
    linear(p + "feed_forward.w_2", D, 2 * D, true);
  }
  norm_w("transformer.norm.weight");
  ck.add("classifier.layers.0.bias", randn({V * Cp}, 0.1));
  ck.add("classifier.layers.0.weight_g", randn({V * Cp, 1, 1}, 0.5).abs() + 1.0);
  ck.add("classifier.layers.0.weight_v", randn({V * Cp, D, 1}, 1.0));
  ck.kwargs = py_dict({{"n_heads", py_int(H)},
                       {"n_layers", py_int(c.n_layers)},
                       {"r_cond_dim", py_int(0)},
                       {"n_codebooks", py_int(C)},
                       {"n_conditioning_codebooks", py_int(c.n_conditioning_codebooks)},
                       {"latent_dim", py_int(Ld)},
                       {"embedding_dim", py_int(D)},
                       {"vocab_size", py_int(V)},
                       {"flash_attn", py_bool(false)},
                       {"noise_mode", py_str("mask")},
                       {"dropout", py_float(0.1)}});
  ck.metadata = py_dict({{"kwargs", ck.kwargs}});
  return ck;
}

}  // namespace vamp

// codec: LAC encoder / residual vector quantizer / decoder (the original lac/model/lac.py and lac/nn/quantize.py, docs/architecture.md).
//
// Op order mirrors lac/model/lac.py and lac/nn/quantize.py so that, with the same libtorch, the
// results equal the Python reference up to thread-dependent rounding. Snake runs in place where
// its input is a temporary, which halves the activation memory of the decoder's MRF blocks.
#include "vamp/codec.h"

#include "vamp/cpu_budget.h"
#include "vamp/istft_decoder.h"
#include "vamp/snake.h"
#include "zip.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace vamp {

// --- building blocks ------------------------------------------------------------------------

namespace {

struct Conv {
  at::Tensor w, b;  // folded weight, bias
  int64_t stride = 1, pad = 0, dilation = 1;
  bool transpose = false;
  int64_t phases = 0;  // > 0: a transposed conv stored as an ordinary one (to_polyphase)
};

// A transposed conv of kernel 2s and stride s as an ordinary kernel-2 conv with s * Cout outputs:
// output sample m*s + j - pad is x[m-1] w[.., j+s] + x[m] w[.., j], so phase j of output channel o
// is channel o*s + j of a conv over x padded by one frame on each side. Same MACs, but it runs in
// oneDNN (fp32 and bf16), where libtorch's CPU transposed conv takes a slow im2col path (and in
// 1.13 has no bf16 kernel).
void to_polyphase(Conv& c) {
  const int64_t s = c.stride, cin = c.w.size(0), cout = c.w.size(1);
  const at::Tensor late = c.w.narrow(2, s, s), early = c.w.narrow(2, 0, s);  // [Cin, Cout, s]
  at::Tensor w = empty_weight({cout * s, cin, 2});
  const at::Tensor taps = w.view({cout, s, cin, 2});  // [o, j, i, tap] = row o*s + j
  taps.select(3, 0).copy_(late.permute({1, 2, 0}));
  taps.select(3, 1).copy_(early.permute({1, 2, 0}));
  c.w = w;
  c.b = c.b.repeat_interleave(s);
  c.phases = s;
  c.transpose = false;
}

// torch's _weight_norm(v, g, 0), written into a weight of its own (empty_weight). Each output
// channel is normalized on its own, so blocks of rows give the same bits with no full-size
// temporary. One parallel region, each thread taking whole blocks (the ops inside run serially).
at::Tensor fold_weight_norm(const at::Tensor& v, const at::Tensor& g) {
  at::Tensor w = empty_weight(v.sizes());
  const int64_t rows = std::max<int64_t>(1, (int64_t(1) << 18) / std::max<int64_t>(1, v[0].numel()));  // ~1 MiB
  at::parallel_for(0, v.size(0), rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r += rows) {
      const int64_t n = std::min(rows, end - r);
      w.narrow(0, r, n).copy_(at::_weight_norm(v.narrow(0, r, n), g.narrow(0, r, n), 0));
    }
  });
  return w;
}

at::Tensor polyphase_conv(const Conv& c, const at::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(2), s = c.phases, cout = c.w.size(0) / s;
  const at::Tensor r = at::conv1d(at::constant_pad_nd(x, {1, 1}), c.w, c.b);  // [B, Cout*s, T+1]
  const at::Tensor y = r.view({B, cout, s, T + 1}).transpose(2, 3).reshape({B, cout, (T + 1) * s});
  return y.narrow(2, c.pad, (T + 1) * s - 2 * c.pad).contiguous();  // conv_transpose1d's length
}

struct Snake {
  at::Tensor alpha;  // [1,C,1]
  at::Tensor rinv;   // (alpha + 1e-9).reciprocal(), as the reference computes it every call
};

// x + (alpha + 1e-9)^-1 * sin(alpha * x)^2 written to `out` (which may be x; fp32 or bf16, rounded
// once). CPU: one pass per channel row (snake.h); elsewhere the reference's op order.
void snake_into(const Snake& s, const at::Tensor& x, const at::Tensor& out) {
  const bool bf16_in = x.scalar_type() == at::kBFloat16, bf16_out = out.scalar_type() == at::kBFloat16;
  if (!x.is_cpu() || !x.is_contiguous() || !out.is_contiguous() || (bf16_in && !bf16_out)) {
    at::Tensor t = at::mul(s.alpha, x);
    t.sin_().pow_(2).mul_(s.rinv);
    out.copy_(t.add_(x));
    return;
  }
  const int64_t C = x.size(1), N = x.size(2);
  const float* alpha = s.alpha.data_ptr<float>();
  const float* rinv = s.rinv.data_ptr<float>();
  const auto* x16 = static_cast<const uint16_t*>(x.data_ptr());
  const auto* x32 = static_cast<const float*>(x.data_ptr());
  auto* o16 = static_cast<uint16_t*>(out.data_ptr());
  auto* o32 = static_cast<float*>(out.data_ptr());
  // A grain of ~32k samples: rows of the first decoder block are short and many.
  at::parallel_for(0, x.size(0) * C, std::max<int64_t>(1, 32768 / std::max<int64_t>(N, 1)),
                   [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t c = r % C, off = r * N;
      if (bf16_in) snake_row(x16 + off, o16 + off, N, alpha[c], rinv[c]);
      else if (bf16_out) snake_row(x32 + off, o16 + off, N, alpha[c], rinv[c]);
      else snake_row(x32 + off, o32 + off, N, alpha[c], rinv[c]);
    }
  });
}

// A new tensor of type `type` (the next convolution's).
at::Tensor snake(const Snake& s, const at::Tensor& x, at::ScalarType type) {
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(type));
  snake_into(s, x, out);
  return out;
}

// In place (x is a temporary of the caller).
void snake_(const Snake& s, at::Tensor& x) { snake_into(s, x, x); }

// The input is brought to the weight's type (bf16 mode: the audio and the latent arrive fp32).
at::Tensor conv(const Conv& c, const at::Tensor& x_in) {
  const at::Tensor x = x_in.scalar_type() == c.w.scalar_type() ? x_in : x_in.to(c.w.scalar_type());
  if (c.phases > 0) return polyphase_conv(c, x);
  if (c.transpose)
    return at::conv_transpose1d(x, c.w, c.b, c.stride, c.pad, /*output_padding=*/0, /*groups=*/1,
                                c.dilation);
  return at::conv1d(x, c.w, c.b, c.stride, c.pad, c.dilation);
}

// EncoderLayer / ResidualLayer: x + conv3(snake2(conv1(snake0(x)))).
struct Unit {
  Snake s0, s2;
  Conv c1, c3;
};

at::Tensor unit(const Unit& u, const at::Tensor& x) {
  at::Tensor h = conv(u.c1, snake(u.s0, x, u.c1.w.scalar_type()));
  snake_(u.s2, h);
  h = conv(u.c3, h);
  return h.add_(x);
}

struct EncoderBlock {
  std::vector<Unit> units;  // dilations 1, 3, 9
  Snake snake;
  Conv down;
};

struct DecoderBlock {
  Snake snake;
  Conv up;                               // transposed
  std::vector<std::vector<Unit>> mrf;  // kernels (3, 7, 11) x dilations (1, 3, 5)
};

struct Quantizer {
  Conv in_proj, out_proj;
  at::Tensor codebook;        // raw [N, d]
  at::Tensor codebook_norm;   // F.normalize(codebook)
  at::Tensor codebook_sq_t;   // codebook_norm.pow(2).sum(1, keepdim).t(): [1, N]
};

constexpr int64_t kDim1[] = {1};
constexpr int64_t kEncoderDilations[] = {1, 3, 9};
constexpr int64_t kDecoderDilations[] = {1, 3, 5};

std::string shape_str(c10::IntArrayRef s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

std::string list_str(const std::vector<int64_t>& v) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
  o << "]";
  return o.str();
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

}  // namespace

struct CodecWeights {
  Conv enc_in;
  std::vector<EncoderBlock> enc_blocks;
  Snake enc_snake;
  Conv enc_out;
  std::vector<Quantizer> quantizers;
  Conv dec_in;
  std::vector<DecoderBlock> dec_blocks;
  Snake dec_snake;
  Conv dec_out;
  std::vector<int64_t> mrf_kernels;
  // The inverse-STFT decoder instead (config.decoder == "istft"): its tensors by key.
  IstftShape istft;
  std::map<std::string, at::Tensor> istft_weights;
};

// --- receptive field ------------------------------------------------------------------------

namespace {

// Range of inputs a conv output range depends on.
void back_conv(int64_t& lo, int64_t& hi, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  lo = lo * stride - pad;
  hi = hi * stride - pad + (k - 1) * dil;
}

void back_conv_transpose(int64_t& lo, int64_t& hi, int64_t k, int64_t stride, int64_t pad) {
  lo = ceil_div(lo + pad - k + 1, stride);
  hi = floor_div(hi + pad, stride);
}

// Samples [lo, hi] relative to 768*t that frame t of the encoder output depends on.
std::pair<int64_t, int64_t> encoder_field(const CodecConfig& c) {
  int64_t lo = 0, hi = 0;
  back_conv(lo, hi, 3, 1, 1, 1);  // conv out
  for (auto it = c.encoder_rates.rbegin(); it != c.encoder_rates.rend(); ++it) {
    back_conv(lo, hi, 2 * *it, *it, *it / 2, 1);
    for (int l = 2; l >= 0; --l) {
      int64_t a = lo, b = hi, d = kEncoderDilations[l];
      back_conv(a, b, 1, 1, 0, 1);
      back_conv(a, b, 7, 1, 3 * d, d);
      lo = std::min(lo, a);
      hi = std::max(hi, b);
    }
  }
  back_conv(lo, hi, 7, 1, 3, 1);  // conv in
  return {lo, hi};
}

// Latent frames [lo, hi] relative to frame t that output samples of frame t depend on.
std::pair<int64_t, int64_t> decoder_field(const CodecConfig& c, const std::vector<int64_t>& kernels) {
  int64_t lo = 0, hi = c.hop_length - 1;
  back_conv(lo, hi, 7, 1, 3, 1);  // conv out
  for (auto it = c.decoder_rates.rbegin(); it != c.decoder_rates.rend(); ++it) {
    int64_t mlo = lo, mhi = hi;
    for (int64_t k : kernels) {
      int64_t a = lo, b = hi;
      for (int l = 2; l >= 0; --l) {
        int64_t d = kDecoderDilations[l], a2 = a, b2 = b;
        back_conv(a2, b2, k, 1, (k - 1) / 2, 1);
        back_conv(a2, b2, k, 1, (k - 1) * d / 2, d);
        a = std::min(a, a2);
        b = std::max(b, b2);
      }
      mlo = std::min(mlo, a);
      mhi = std::max(mhi, b);
    }
    lo = mlo;
    hi = mhi;
    back_conv_transpose(lo, hi, 2 * *it, *it, *it / 2);
  }
  back_conv(lo, hi, 7, 1, 3, 1);  // conv in
  return {lo, hi};
}

}  // namespace

std::pair<int64_t, int64_t> encoder_receptive_field(const CodecConfig& cfg) { return encoder_field(cfg); }
std::pair<int64_t, int64_t> decoder_receptive_field(const CodecConfig& cfg, const std::vector<int64_t>& mrf_kernels) {
  return decoder_field(cfg, mrf_kernels);
}

// --- loading --------------------------------------------------------------------------------

namespace {

class Loader {
 public:
  Loader(Checkpoint& ck, at::Device device) : ck_(ck), device_(device) {}

  const Checkpoint& ck() const { return ck_; }

  // The stored weight-norm tensors of a conv: (g, v) under either naming, or a plain weight.
  struct WN {
    std::string g_key, v_key, w_key;
  };
  bool find_wn(const std::string& prefix, WN& out) const {
    if (ck_.has(prefix + ".weight_v")) {
      out = {prefix + ".weight_g", prefix + ".weight_v", ""};
      return true;
    }
    if (ck_.has(prefix + ".parametrizations.weight.original1")) {
      out = {prefix + ".parametrizations.weight.original0", prefix + ".parametrizations.weight.original1", ""};
      return true;
    }
    if (ck_.has(prefix + ".weight")) {
      out = {"", "", prefix + ".weight"};
      return true;
    }
    return false;
  }

  // Shape of a conv's (unfolded) weight, or empty when the conv is absent.
  std::vector<int64_t> weight_shape(const std::string& prefix) const {
    WN wn;
    if (!find_wn(prefix, wn)) return {};
    const at::Tensor& t = ck_.at(wn.w_key.empty() ? wn.v_key : wn.w_key);
    return t.sizes().vec();
  }

  std::string weight_key(const std::string& prefix) const {
    WN wn;
    if (!find_wn(prefix, wn)) return prefix + ".weight_v";
    return wn.w_key.empty() ? wn.v_key : wn.w_key;
  }

  // The tensor under key, taken from the checkpoint: the raw weights go as they are folded.
  at::Tensor tensor(const std::string& key, c10::IntArrayRef shape) {
    used_.insert(key);
    at::Tensor t = ck_.take(key, shape);
    if (!t.is_floating_point()) ck_.fail("key '" + key + "' is not a floating-point tensor");
    return t.to(at::kFloat);
  }

  // Folded conv. shape = weight shape ([Cout,Cin,k], or [Cin,Cout,k] for transposed convs).
  Conv conv(const std::string& prefix, std::vector<int64_t> shape, int64_t stride, int64_t pad, int64_t dil,
            bool transpose = false) {
    WN wn;
    if (!find_wn(prefix, wn)) ck_.fail("missing key '" + prefix + ".weight_v' in state_dict");
    Conv c;
    if (wn.w_key.empty()) {
      const at::Tensor v = tensor(wn.v_key, shape);
      const at::Tensor g = tensor(wn.g_key, {shape[0], 1, 1});
      c.w = fold_weight_norm(v, g);
    } else {
      c.w = tensor(wn.w_key, shape);
    }
    c.b = tensor(prefix + ".bias", {transpose ? shape[1] : shape[0]});
    c.stride = stride;
    c.pad = pad;
    c.dilation = dil;
    c.transpose = transpose;
    if (transpose && dil == 1 && shape[2] == 2 * stride) to_polyphase(c);
    c.w = owned(c.w.contiguous().to(device_));
    c.b = owned(c.b.contiguous().to(device_));
    return c;
  }

  Snake snake(const std::string& key, int64_t channels) {
    Snake s;
    s.alpha = owned(tensor(key, {1, channels, 1}).contiguous().to(device_));
    s.rinv = (s.alpha + 1e-9).reciprocal();
    return s;
  }

  Unit unit(const std::string& prefix, int64_t ch, int64_t k1, int64_t d, int64_t k3) {
    Unit u;
    u.s0 = snake(prefix + ".0.alpha", ch);
    u.c1 = conv(prefix + ".1", {ch, ch, k1}, 1, (k1 - 1) * d / 2, d);
    u.s2 = snake(prefix + ".2.alpha", ch);
    u.c3 = conv(prefix + ".3", {ch, ch, k3}, 1, (k3 - 1) / 2, 1);
    return u;
  }

  // Every key of the codec's namespaces must have been consumed (a DAC or otherwise different
  // layout would otherwise load half-initialized, as it does under strict=False in Python).
  void check_all_used() const {
    for (const auto& [k, t] : ck_.tensors) {
      bool ours = k.rfind("encoder.", 0) == 0 || k.rfind("decoder.", 0) == 0 || k.rfind("quantizer.", 0) == 0;
      if (ours && !used_.count(k))
        ck_.fail("unexpected key '" + k + "' " + shape_str(t.sizes()) + " (not part of the LAC layout)");
    }
  }

 private:
  Checkpoint& ck_;
  at::Device device_;
  std::set<std::string> used_;
};

// The LAC decoder's width, strides and MRF kernels from its shapes.
void derive_lac_decoder(const Loader& ld, CodecConfig& c, std::vector<int64_t>& mrf_kernels) {
  const Checkpoint& ck = ld.ck();
  const auto d0 = ld.weight_shape("decoder.model.0");
  if (d0.size() != 3) ck.fail("missing key 'decoder.model.0.weight_v' in state_dict (not a LAC codec?)");
  c.decoder_dim = d0[0];
  for (int64_t i = 1;; ++i) {
    auto s = ld.weight_shape("decoder.model." + std::to_string(i) + ".block.1");
    if (s.empty()) break;
    if (s.size() != 3 || s[2] % 2 != 0 || (s[2] / 2) % 2 != 0)
      ck.fail("key '" + ld.weight_key("decoder.model." + std::to_string(i) + ".block.1") + "' has shape " +
              shape_str(s) + ": expected kernel 2*stride with an even stride");
    c.decoder_rates.push_back(s[2] / 2);
  }
  if (c.decoder_rates.empty()) ck.fail("no decoder blocks (decoder.model.1.block.1.weight_v missing)");
  for (int64_t j = 0;; ++j) {
    auto s = ld.weight_shape("decoder.model.1.block.2.mrf_blocks." + std::to_string(j) + ".block.0.layer.1");
    if (s.empty()) break;
    if (s[2] % 2 != 1) ck.fail("MRF kernel " + std::to_string(s[2]) + " is even (unsupported)");
    mrf_kernels.push_back(s[2]);
  }
  if (mrf_kernels.empty()) ck.fail("missing key 'decoder.model.1.block.2.mrf_blocks.0.block.0.layer.1.weight_v'");
}

// Derives the configuration from shapes and checks it against metadata.kwargs.
CodecConfig derive_config(const Loader& ld, std::vector<int64_t>& mrf_kernels) {
  const Checkpoint& ck = ld.ck();
  CodecConfig c;
  auto need = [&](const std::string& prefix) {
    auto s = ld.weight_shape(prefix);
    if (s.size() != 3) ck.fail("missing key '" + prefix + ".weight_v' in state_dict (not a LAC codec?)");
    return s;
  };

  const auto e0 = need("encoder.block.0");
  c.encoder_dim = e0[0];
  int64_t ch = c.encoder_dim;
  for (int64_t b = 1;; ++b) {
    auto s = ld.weight_shape("encoder.block." + std::to_string(b) + ".block.4");
    if (s.empty()) break;
    if (s.size() != 3 || s[2] % 2 != 0 || s[2] < 2)
      ck.fail("key '" + ld.weight_key("encoder.block." + std::to_string(b) + ".block.4") + "' has shape " +
              shape_str(s) + ": expected an even kernel 2*stride");
    if ((s[2] / 2) % 2 != 0)
      ck.fail("encoder stride " + std::to_string(s[2] / 2) + " is odd: LAC's padding stride//2 would drop frames");
    c.encoder_rates.push_back(s[2] / 2);
    ch *= 2;
  }
  if (c.encoder_rates.empty()) ck.fail("no encoder blocks (encoder.block.1.block.4.weight_v missing)");
  const std::string enc_out = "encoder.block." + std::to_string(c.encoder_rates.size() + 2);
  c.latent_dim = need(enc_out)[0];
  if (c.latent_dim != ch)
    ck.fail("key '" + ld.weight_key(enc_out) + "' has shape " + shape_str(need(enc_out)) + ", expected " +
            std::to_string(ch) + " output channels (encoder_dim * 2^stages)");

  const bool istft = ck.has("decoder.embed.weight");
  if (ck.has_kwarg("decoder")) {
    const PyRef kind = ck.kwargs->get("decoder");
    if (kind->kind != PyValue::Kind::Str || (kind->s != "lac" && kind->s != "istft") ||
        (kind->s == "istft") != istft)
      ck.fail("metadata.kwargs['decoder'] = " + kind->repr() + " contradicts the state_dict, which holds " +
              (istft ? "an inverse-STFT decoder (decoder.embed.weight)" : "a LAC decoder"));
  }
  if (!istft) derive_lac_decoder(ld, c, mrf_kernels);

  for (int64_t i = 0;; ++i) {
    const std::string key = "quantizer.quantizers." + std::to_string(i) + ".codebook.weight";
    if (!ck.has(key)) break;
    const at::Tensor& cb = ck.at(key);
    if (cb.dim() != 2) ck.fail("key '" + key + "' has shape " + shape_str(cb.sizes()) + ", expected 2 dims");
    if (i == 0) {
      c.codebook_size = cb.size(0);
      c.codebook_dim = cb.size(1);
    }
    c.n_codebooks = i + 1;
  }
  if (c.n_codebooks == 0) ck.fail("missing key 'quantizer.quantizers.0.codebook.weight'");

  int64_t enc_hop = 1;
  for (auto r : c.encoder_rates) enc_hop *= r;
  c.hop_length = 1;
  for (auto r : c.decoder_rates) c.hop_length *= r;
  if (istft) c.hop_length = enc_hop;
  if (enc_hop != c.hop_length)
    ck.fail("encoder strides " + list_str(c.encoder_rates) + " (product " + std::to_string(enc_hop) +
            ") and decoder strides " + list_str(c.decoder_rates) + " (product " + std::to_string(c.hop_length) +
            ") disagree");

  // Cross-check metadata.kwargs (any present entry must agree with the shapes).
  auto contradict = [&](const std::string& name, const std::string& given, const std::string& key) {
    std::ostringstream o;
    o << "metadata.kwargs['" << name << "'] = " << given << " contradicts key '" << key << "' of shape "
      << ck.at(key).sizes();
    ck.fail(o.str());
  };
  auto check_int = [&](const std::string& name, int64_t derived, const std::string& key) {
    if (!ck.has_kwarg(name)) return;
    int64_t v = ck.kwarg_int(name);
    if (v != derived) contradict(name, std::to_string(v), key);
  };
  auto check_list = [&](const std::string& name, const std::vector<int64_t>& derived, const std::string& prefix,
                        const std::string& suffix) {
    if (!ck.has_kwarg(name)) return;
    auto v = ck.kwarg_int_list(name);
    if (v == derived) return;
    size_t i = 0;
    while (i < v.size() && i < derived.size() && v[i] == derived[i]) ++i;
    const std::string key = ld.weight_key(prefix + std::to_string(std::min(i, derived.size() - 1) + 1) + suffix);
    std::ostringstream o;
    o << "metadata.kwargs['" << name << "'] = " << list_str(v) << " contradicts the state_dict, which implies "
      << list_str(derived) << " (key '" << key << "' has shape " << ck.at(key).sizes() << ")";
    ck.fail(o.str());
  };
  check_int("encoder_dim", c.encoder_dim, ld.weight_key("encoder.block.0"));
  check_list("encoder_rates", c.encoder_rates, "encoder.block.", ".block.4");
  if (!istft) {
    check_int("decoder_dim", c.decoder_dim, ld.weight_key("decoder.model.0"));
    check_list("decoder_rates", c.decoder_rates, "decoder.model.", ".block.1");
  } else {
    const IstftShape d = istft_shape_from(ck, c.latent_dim, c.hop_length);
    c.decoder = "istft";
    c.decoder_dim = d.dim;
    c.decoder_layers = d.layers;
    c.n_fft = d.n_fft;
    c.istft_hop = d.istft_hop;
  }
  const std::string cb0 = "quantizer.quantizers.0.codebook.weight";
  if (ck.has_kwarg("n_codebooks") && ck.kwarg_int("n_codebooks") != c.n_codebooks)
    ck.fail("metadata.kwargs['n_codebooks'] = " + std::to_string(ck.kwarg_int("n_codebooks")) +
            " contradicts the state_dict, which has " + std::to_string(c.n_codebooks) +
            " quantizers (quantizer.quantizers.<i>.codebook.weight)");
  check_int("codebook_size", c.codebook_size, cb0);
  if (ck.has_kwarg("codebook_dim")) {
    PyRef v = ck.kwargs->get("codebook_dim");
    if (v->kind == PyValue::Kind::List || v->kind == PyValue::Kind::Tuple) {
      if (int64_t(v->items.size()) != c.n_codebooks)
        ck.fail("metadata.kwargs['codebook_dim'] = " + v->repr() + " has " + std::to_string(v->items.size()) +
                " entries, the state_dict has " + std::to_string(c.n_codebooks) + " quantizers");
      for (size_t i = 0; i < v->items.size(); ++i)
        if (v->items[i]->kind != PyValue::Kind::Int || v->items[i]->i != c.codebook_dim)
          contradict("codebook_dim", v->repr(), "quantizer.quantizers." + std::to_string(i) + ".codebook.weight");
    } else {
      check_int("codebook_dim", c.codebook_dim, cb0);
    }
  }
  c.sample_rate = ck.kwarg_int("sample_rate", 44100);
  if (c.sample_rate <= 0) ck.fail("metadata.kwargs['sample_rate'] = " + std::to_string(c.sample_rate));
  return c;
}

// The LAC decoder's folded weights.
void load_lac_decoder(Loader& ld, const CodecConfig& c, CodecWeights& w) {
  const Checkpoint& ck = ld.ck();
  w.dec_in = ld.conv("decoder.model.0", {c.decoder_dim, c.latent_dim, 7}, 1, 3, 1);
  int64_t cin = c.decoder_dim;
  for (size_t i = 0; i < c.decoder_rates.size(); ++i) {
    const std::string p = "decoder.model." + std::to_string(i + 1) + ".block.";
    const int64_t s = c.decoder_rates[i], cout = cin / 2;
    if (cout < 1) ck.fail("decoder_dim " + std::to_string(c.decoder_dim) + " is too small for " +
                          std::to_string(c.decoder_rates.size()) + " halving stages");
    DecoderBlock blk;
    blk.snake = ld.snake(p + "0.alpha", cin);
    blk.up = ld.conv(p + "1", {cin, cout, 2 * s}, s, s / 2, 1, /*transpose=*/true);
    for (size_t j = 0; j < w.mrf_kernels.size(); ++j) {
      std::vector<Unit> rb;
      const int64_t k = w.mrf_kernels[j];
      for (int l = 0; l < 3; ++l)
        rb.push_back(ld.unit(p + "2.mrf_blocks." + std::to_string(j) + ".block." + std::to_string(l) + ".layer",
                             cout, k, kDecoderDilations[l], k));
      blk.mrf.push_back(std::move(rb));
    }
    w.dec_blocks.push_back(std::move(blk));
    cin = cout;
  }
  const size_t nd = c.decoder_rates.size();
  w.dec_snake = ld.snake("decoder.model." + std::to_string(nd + 1) + ".alpha", cin);
  w.dec_out = ld.conv("decoder.model." + std::to_string(nd + 2), {1, cin, 7}, 1, 3, 1);
}

std::string weights_id(const Checkpoint& ck) {
  // One CRC per tensor (a loaded record's is known already), combined in file order.
  const auto& ts = ck.tensors;
  std::vector<uint32_t> crcs(ts.size());
  std::vector<uint64_t> sizes(ts.size());
  at::parallel_for(0, int64_t(ts.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const at::Tensor& t = ts[size_t(i)].second;
      sizes[size_t(i)] = t.nbytes();
      if (const auto crc = record_crc32(t)) {
        crcs[size_t(i)] = *crc;
      } else {
        const at::Tensor c = t.contiguous();
        crcs[size_t(i)] = zip::crc32(0, c.data_ptr(), sizes[size_t(i)]);
      }
    }
  });
  uint32_t crc = 0;
  for (size_t i = 0; i < ts.size(); ++i) crc = zip::combine_crc32(crc, crcs[i], sizes[i]);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", unsigned(crc));
  return buf;
}

}  // namespace

Codec::~Codec() = default;

std::shared_ptr<Codec> Codec::load(const std::string& path, at::Device device, Precision precision) {
  return from_checkpoint(load_checkpoint(path), device, precision);
}

std::shared_ptr<Codec> Codec::from_checkpoint(Checkpoint ck, at::Device device, Precision precision) {
  at::NoGradGuard no_grad;
  std::shared_ptr<Codec> codec(new Codec());
  codec->id_ = weights_id(ck);  // before the loader takes the tensors
  codec->device_ = device;
  codec->w_ = std::make_unique<CodecWeights>();
  CodecWeights& w = *codec->w_;
  Loader ld(ck, device);
  CodecConfig& c = codec->config_;
  c = derive_config(ld, w.mrf_kernels);

  // Encoder.
  w.enc_in = ld.conv("encoder.block.0", {c.encoder_dim, 1, 7}, 1, 3, 1);
  int64_t ch = c.encoder_dim;
  for (size_t b = 0; b < c.encoder_rates.size(); ++b) {
    const std::string p = "encoder.block." + std::to_string(b + 1) + ".block.";
    const int64_t s = c.encoder_rates[b];
    EncoderBlock blk;
    for (int l = 0; l < 3; ++l)
      blk.units.push_back(ld.unit(p + std::to_string(l) + ".block", ch, 7, kEncoderDilations[l], 1));
    blk.snake = ld.snake(p + "3.alpha", ch);
    blk.down = ld.conv(p + "4", {2 * ch, ch, 2 * s}, s, s / 2, 1);
    w.enc_blocks.push_back(std::move(blk));
    ch *= 2;
  }
  const std::string eb = "encoder.block." + std::to_string(c.encoder_rates.size() + 1);
  w.enc_snake = ld.snake(eb + ".alpha", ch);
  w.enc_out = ld.conv("encoder.block." + std::to_string(c.encoder_rates.size() + 2), {ch, ch, 3}, 1, 1, 1);

  // Quantizer.
  for (int64_t i = 0; i < c.n_codebooks; ++i) {
    const std::string p = "quantizer.quantizers." + std::to_string(i) + ".";
    Quantizer q;
    q.in_proj = ld.conv(p + "in_proj", {c.codebook_dim, c.latent_dim, 1}, 1, 0, 1);
    q.out_proj = ld.conv(p + "out_proj", {c.latent_dim, c.codebook_dim, 1}, 1, 0, 1);
    q.codebook = owned(ld.tensor(p + "codebook.weight", {c.codebook_size, c.codebook_dim}).contiguous().to(device));
    at::Tensor denom = at::linalg_vector_norm(q.codebook, 2, at::IntArrayRef(kDim1), true).clamp_min(1e-12).expand_as(q.codebook);
    q.codebook_norm = q.codebook / denom;
    q.codebook_sq_t = q.codebook_norm.pow(2).sum(1, true).t();
    w.quantizers.push_back(std::move(q));
  }

  // Decoder, or the inverse-STFT one.
  if (c.decoder == "istft") {
    w.istft = istft_shape_from(ck, c.latent_dim, c.hop_length);
    for (const auto& [key, shape] : istft_decoder_keys(w.istft))
      w.istft_weights[key] = owned(ld.tensor(key, shape).contiguous().to(device));
  } else {
    load_lac_decoder(ld, c, w);
  }
  ld.check_all_used();

  const auto ef = encoder_field(c);
  const int64_t enc_left = ceil_div(-ef.first, c.hop_length);
  const int64_t enc_right = ceil_div(ef.second - c.hop_length + 1, c.hop_length);
  codec->enc_context_ = std::max<int64_t>({enc_left, enc_right, 0}) + 1;
  if (c.decoder == "istft") {
    codec->dec_context_ = istft_receptive_frames(w.istft) + 1;
  } else {
    const auto df = decoder_field(c, w.mrf_kernels);
    codec->dec_context_ = std::max<int64_t>({-df.first, df.second, 0}) + 1;
  }
  // bf16: encoder and decoder convolutions converted once (the quantizer stays fp32).
  codec->precision_ = resolve_precision(precision, /*for_codec=*/true, &codec->precision_note_);
  if (codec->precision_ == Precision::BF16) {
    auto lowp = [](Conv& cv) {
      cv.w = cv.w.to(at::kBFloat16).contiguous();
      cv.b = cv.b.to(at::kBFloat16);
    };
    auto lowp_unit = [&](Unit& u) {
      lowp(u.c1);
      lowp(u.c3);
    };
    lowp(w.enc_in);
    for (auto& blk : w.enc_blocks) {
      for (auto& u : blk.units) lowp_unit(u);
      lowp(blk.down);
    }
    lowp(w.enc_out);
    if (c.decoder == "istft") return codec;  // its few matmuls stay fp32
    lowp(w.dec_in);
    for (auto& blk : w.dec_blocks) {
      // A true transposed conv stays fp32: libtorch 1.13 sends bf16 conv_transpose1d to the
      // non-transposed oneDNN kernel and fails. The polyphase form is an ordinary conv.
      if (blk.up.phases > 0) lowp(blk.up);
      for (auto& rb : blk.mrf)
        for (auto& u : rb) lowp_unit(u);
    }
    lowp(w.dec_out);
  }
  return codec;
}

// --- inference ------------------------------------------------------------------------------

namespace {

// The cost of the largest convolution (or pointwise product) of an encoder or decoder pass over x
// ([B, C, T]: audio, latents or codes; `per_frame` of its T steps make one token frame), for
// cpu_width: what decides whether a second thread pays.
double widest_op_flops(const CodecConfig& c, bool encoder, const at::Tensor& x, int64_t per_frame) {
  double widest = 0, len = x.dim() == 3 ? double(x.size(0) * (x.size(2) / per_frame)) : 0.0;
  if (encoder) {  // residual units: kernel 7, encoder_dim * 2^i channels at 1 / (rates[0..i)) of the rate
    len *= double(c.hop_length);
    double ch = double(c.encoder_dim);
    for (const int64_t r : c.encoder_rates) {
      widest = std::max(widest, 2.0 * 7 * ch * ch * len);
      ch *= 2;
      len /= double(r);
    }
  } else if (c.decoder == "istft") {  // ConvNeXt pointwise: decoder_dim -> 4 decoder_dim per STFT frame
    const double ch = double(c.decoder_dim);
    widest = 2.0 * ch * 4 * ch * len * double(c.hop_length) / double(c.istft_hop);
  } else {  // LAC: the input conv, then MRF units (kernel <= 11) at decoder_dim / 2^(i+1) channels
    double ch = double(c.decoder_dim);
    widest = 2.0 * 7 * double(c.latent_dim) * ch * len;
    for (const int64_t r : c.decoder_rates) {
      ch /= 2;
      len *= double(r);
      widest = std::max(widest, 2.0 * 11 * ch * ch * len);
    }
  }
  return widest;
}

}  // namespace


at::Tensor Codec::encoder_latent(const at::Tensor& audio) const {
  at::NoGradGuard no_grad;
  const CpuTurn turn(device_.is_cpu(),
                     cpu_width(widest_op_flops(config_, true, audio, config_.hop_length)));
  if (audio.dim() != 3 || audio.size(1) != 1)
    throw std::invalid_argument("codec encode: expected audio [B,1,N], got " + shape_str(audio.sizes()));
  if (audio.size(2) == 0 || audio.size(2) % config_.hop_length != 0)
    throw std::invalid_argument("codec encode: length " + std::to_string(audio.size(2)) +
                                " is not a positive multiple of the hop " + std::to_string(config_.hop_length));
  const CodecWeights& w = *w_;
  at::Tensor x = conv(w.enc_in, audio.to(device_, at::kFloat));
  for (const auto& blk : w.enc_blocks) {
    for (const auto& u : blk.units) x = unit(u, x);
    snake_(blk.snake, x);
    x = conv(blk.down, x);
  }
  snake_(w.enc_snake, x);
  return conv(w.enc_out, x).to(at::kFloat);
}

Codec::Quantized Codec::quantize(const at::Tensor& latent) const {
  at::NoGradGuard no_grad;
  const CpuTurn turn(device_.is_cpu(), 1);  // projections to and from codebook_dim: narrow
  if (latent.dim() != 3 || latent.size(1) != config_.latent_dim)
    throw std::invalid_argument("codec quantize: expected latent [B," + std::to_string(config_.latent_dim) +
                                ",T], got " + shape_str(latent.sizes()));
  const int64_t B = latent.size(0), T = latent.size(2);
  at::Tensor residual = latent.to(device_, at::kFloat);
  at::Tensor z_q;
  std::vector<at::Tensor> codes, latents;
  for (const auto& q : w_->quantizers) {
    at::Tensor z_e = conv(q.in_proj, residual);
    // decode_latents: nearest normalized codebook row by the reference's 3-term distance.
    at::Tensor enc = z_e.permute({0, 2, 1}).reshape({B * T, config_.codebook_dim});
    at::Tensor denom = at::linalg_vector_norm(enc, 2, at::IntArrayRef(kDim1), true).clamp_min(1e-12).expand_as(enc);
    enc = enc / denom;
    at::Tensor dist = enc.pow(2).sum(1, true) - at::matmul(2 * enc, q.codebook_norm.t()) + q.codebook_sq_t;
    at::Tensor idx = std::get<1>(at::max(-dist, 1)).reshape({B, T});
    at::Tensor cb = at::embedding(q.codebook, idx).transpose(1, 2);
    at::Tensor zq_low = z_e + (cb - z_e);
    at::Tensor z_q_i = conv(q.out_proj, zq_low);
    z_q = z_q.defined() ? z_q + z_q_i : z_q_i;
    residual = residual - z_q_i;
    codes.push_back(idx);
    latents.push_back(z_e);
  }
  return {at::stack(codes, 1), at::cat(latents, 1), z_q};
}

at::Tensor Codec::encode(const at::Tensor& audio) const { return quantize(encoder_latent(audio)).codes; }

at::Tensor Codec::from_codes(const at::Tensor& codes_in) const {
  at::NoGradGuard no_grad;
  const CpuTurn turn(device_.is_cpu(), 1);  // lookups and projections from codebook_dim: narrow
  if (codes_in.dim() != 3)
    throw std::invalid_argument("codec decode: expected codes [B,k,T], got " + shape_str(codes_in.sizes()));
  const int64_t k = codes_in.size(1);
  if (k < 1 || k > config_.n_codebooks)
    throw std::out_of_range("codec decode: " + std::to_string(k) + " codebooks given, the codec has " +
                            std::to_string(config_.n_codebooks));
  if (codes_in.is_floating_point() || codes_in.is_complex() || codes_in.scalar_type() == at::kBool)
    throw std::invalid_argument("codec decode: codes must be an integer tensor");
  at::Tensor codes = codes_in.to(device_, at::kLong);
  if (codes.numel() > 0) {
    const int64_t lo = codes.min().item<int64_t>(), hi = codes.max().item<int64_t>();
    if (lo < 0 || hi >= config_.codebook_size)
      throw std::out_of_range("codec decode: code " + std::to_string(lo < 0 ? lo : hi) + " outside [0, " +
                              std::to_string(config_.codebook_size) + ")");
  }
  at::Tensor z_q;
  for (int64_t i = 0; i < k; ++i) {
    const auto& q = w_->quantizers[i];
    at::Tensor z_p = at::embedding(q.codebook, codes.select(1, i)).transpose(1, 2);
    at::Tensor z_q_i = conv(q.out_proj, z_p);
    z_q = z_q.defined() ? z_q + z_q_i : z_q_i;
  }
  return z_q;
}

at::Tensor Codec::decode_latent(const at::Tensor& z) const {
  at::NoGradGuard no_grad;
  const CpuTurn turn(device_.is_cpu(), cpu_width(widest_op_flops(config_, false, z, 1)));
  if (z.dim() != 3 || z.size(1) != config_.latent_dim)
    throw std::invalid_argument("codec decode: expected latent [B," + std::to_string(config_.latent_dim) +
                                ",T], got " + shape_str(z.sizes()));
  const CodecWeights& w = *w_;
  if (config_.decoder == "istft")
    return istft_decode([&w](const std::string& key) -> const at::Tensor& { return w.istft_weights.at(key); },
                        w.istft, z.to(device_, at::kFloat));
  at::Tensor x = conv(w.dec_in, z.to(device_, at::kFloat));
  for (const auto& blk : w.dec_blocks) {
    snake_(blk.snake, x);
    x = conv(blk.up, x);
    at::Tensor sum;
    for (const auto& rb : blk.mrf) {
      at::Tensor h = x;
      for (const auto& u : rb) h = unit(u, h);
      if (sum.defined()) sum.add_(h);
      else sum = h;
    }
    x = sum.div_(int64_t(blk.mrf.size()));
  }
  snake_(w.dec_snake, x);
  x = conv(w.dec_out, x);
  if (x.scalar_type() != at::kFloat) x = x.to(at::kFloat);
  return x.tanh_();
}

at::Tensor Codec::decode(const at::Tensor& codes) const { return decode_latent(from_codes(codes)); }

at::Tensor Codec::codebook(int i) const {
  if (i < 0 || i >= int(w_->quantizers.size()))
    throw std::out_of_range("codec: no codebook " + std::to_string(i));
  return w_->quantizers[i].codebook;
}

at::Tensor Codec::encode_chunked(const at::Tensor& audio, int64_t chunk_frames) const {
  at::NoGradGuard no_grad;
  if (chunk_frames < 1) throw std::invalid_argument("codec encode: chunk_frames must be >= 1");
  const int64_t hop = config_.hop_length;
  if (audio.dim() != 3 || audio.size(2) % hop != 0) return encode(audio);  // encode() reports it
  const int64_t T = audio.size(2) / hop, C = enc_context_;
  std::vector<at::Tensor> parts;
  for (int64_t t0 = 0; t0 < T; t0 += chunk_frames) {
    const int64_t t1 = std::min(T, t0 + chunk_frames);
    const int64_t a = std::max<int64_t>(0, t0 - C), b = std::min(T, t1 + C);
    at::Tensor lat = encoder_latent(audio.slice(2, a * hop, b * hop));
    parts.push_back(quantize(lat.slice(2, t0 - a, t1 - a)).codes);
  }
  return at::cat(parts, 2);
}

at::Tensor Codec::decode_chunked(const at::Tensor& codes, int64_t chunk_frames) const {
  at::NoGradGuard no_grad;
  if (chunk_frames < 1) throw std::invalid_argument("codec decode: chunk_frames must be >= 1");
  const int64_t hop = config_.hop_length;
  if (codes.dim() != 3) return decode(codes);
  const int64_t T = codes.size(2), C = dec_context_;
  std::vector<at::Tensor> parts;
  for (int64_t t0 = 0; t0 < T; t0 += chunk_frames) {
    const int64_t t1 = std::min(T, t0 + chunk_frames);
    const int64_t a = std::max<int64_t>(0, t0 - C), b = std::min(T, t1 + C);
    at::Tensor audio = decode(codes.slice(2, a, b));
    parts.push_back(audio.slice(2, (t0 - a) * hop, (t1 - a) * hop));
  }
  return at::cat(parts, 2);
}

IstftShape istft_shape(const CodecConfig& c) {
  IstftShape s;
  s.latent_dim = c.latent_dim;
  s.dim = c.decoder_dim;
  s.layers = c.decoder_layers;
  s.n_fft = c.n_fft;
  s.istft_hop = c.istft_hop;
  s.hop = c.hop_length;
  return s;
}

// --- presets and random weights ---------------------------------------------------------------

CodecConfig codec_preset(const std::string& name) {
  CodecConfig c;
  c.sample_rate = 44100;
  c.n_codebooks = 14;
  c.codebook_size = 1024;
  c.codebook_dim = 8;
  c.encoder_rates = {2, 6, 8, 8};
  c.decoder_rates = {6, 4, 4, 2, 2, 2};
  if (name == "full") {
    c.encoder_dim = 64;
    c.decoder_dim = 1536;
  } else if (name == "tiny") {
    c.encoder_dim = 4;
    c.decoder_dim = 64;
  } else {
    throw std::invalid_argument("unknown codec preset '" + name + "' (expected tiny or full)");
  }
  c.latent_dim = c.encoder_dim << c.encoder_rates.size();
  c.hop_length = 768;
  return c;
}

Checkpoint random_codec_checkpoint(const CodecConfig& cfg_in, uint64_t seed) {
  at::NoGradGuard no_grad;
  CodecConfig c = cfg_in;
  auto fail = [](const std::string& m) { throw std::invalid_argument("random_codec_checkpoint: " + m); };
  if (c.encoder_dim < 1 || c.decoder_dim < 1 || c.encoder_rates.empty() ||
      (c.decoder_rates.empty() && c.decoder != "istft") ||
      c.n_codebooks < 1 || c.codebook_size < 1 || c.codebook_dim < 1 || c.sample_rate < 1)
    fail("incomplete config");
  int64_t eh = 1, dh = 1;
  for (auto r : c.encoder_rates) {
    if (r < 2 || r % 2) fail("encoder strides must be even");
    eh *= r;
  }
  const bool istft = c.decoder == "istft";
  if (istft) c.decoder_rates.clear();
  for (auto r : c.decoder_rates) {
    if (r < 2 || r % 2) fail("decoder strides must be even");
    dh *= r;
  }
  if (istft) dh = eh;
  if (eh != dh) fail("encoder and decoder strides have different products");
  if (c.hop_length != 0 && c.hop_length != dh) fail("hop_length is not the product of the strides");
  const int64_t latent = c.encoder_dim << c.encoder_rates.size();
  if (c.latent_dim != 0 && c.latent_dim != latent) fail("latent_dim is not encoder_dim * 2^stages");
  if (istft) {
    if (c.decoder_layers < 1 || c.n_fft < 2 * c.istft_hop || c.istft_hop < 1 || eh % c.istft_hop)
      fail("an istft decoder needs decoder_layers >= 1, n_fft >= 2 istft_hop and istft_hop dividing the hop");
  } else if ((c.decoder_dim >> c.decoder_rates.size()) < 1) {
    fail("decoder_dim too small for the stage count");
  }

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto opt = at::TensorOptions().dtype(at::kFloat);
  Checkpoint ck;
  ck.path = "<random codec, seed " + std::to_string(seed) + ">";

  // A weight-normed conv: v ~ N(0,1), g = gain (the norm of each filter), bias ~ N(0, 0.01^2).
  auto wn = [&](const std::string& p, std::vector<int64_t> shape, double gain, bool transpose = false) {
    ck.add(p + ".bias", at::randn({transpose ? shape[1] : shape[0]}, gen, opt).mul_(0.01));
    ck.add(p + ".weight_g", at::full({shape[0], 1, 1}, gain, opt)
                                .mul_(at::empty({shape[0], 1, 1}, opt).uniform_(0.9, 1.1, gen)));
    ck.add(p + ".weight_v", at::randn(shape, gen, opt));
  };
  auto snake = [&](const std::string& key, int64_t ch) {
    ck.add(key, at::empty({1, ch, 1}, opt).uniform_(0.5, 1.5, gen));
  };
  auto unit = [&](const std::string& p, int64_t ch, int64_t k1, int64_t k3) {
    snake(p + ".0.alpha", ch);
    wn(p + ".1", {ch, ch, k1}, 1.0);
    snake(p + ".2.alpha", ch);
    wn(p + ".3", {ch, ch, k3}, 0.3);  // small residual branches keep deep stacks bounded
  };

  wn("encoder.block.0", {c.encoder_dim, 1, 7}, 1.0);
  int64_t ch = c.encoder_dim;
  for (size_t b = 0; b < c.encoder_rates.size(); ++b) {
    const std::string p = "encoder.block." + std::to_string(b + 1) + ".block.";
    for (int l = 0; l < 3; ++l) unit(p + std::to_string(l) + ".block", ch, 7, 1);
    snake(p + "3.alpha", ch);
    wn(p + "4", {2 * ch, ch, 2 * c.encoder_rates[b]}, 1.0);
    ch *= 2;
  }
  snake("encoder.block." + std::to_string(c.encoder_rates.size() + 1) + ".alpha", ch);
  wn("encoder.block." + std::to_string(c.encoder_rates.size() + 2), {ch, ch, 3}, 1.0);

  for (int64_t i = 0; i < c.n_codebooks; ++i) {
    const std::string p = "quantizer.quantizers." + std::to_string(i) + ".";
    wn(p + "in_proj", {c.codebook_dim, latent, 1}, 1.0);
    wn(p + "out_proj", {latent, c.codebook_dim, 1}, 1.0 / double(c.n_codebooks));
    ck.add(p + "codebook.weight", at::randn({c.codebook_size, c.codebook_dim}, gen, opt));
  }

  if (istft) {
    c.hop_length = eh;
    c.latent_dim = latent;
    add_random_istft_decoder(ck, istft_shape(c), gen);
  } else {
    const int64_t kernels[] = {3, 7, 11};
    wn("decoder.model.0", {c.decoder_dim, latent, 7}, 1.0);
    int64_t cin = c.decoder_dim;
    for (size_t i = 0; i < c.decoder_rates.size(); ++i) {
      const std::string p = "decoder.model." + std::to_string(i + 1) + ".block.";
      const int64_t s = c.decoder_rates[i], cout = cin / 2;
      snake(p + "0.alpha", cin);
      // g per input channel; sqrt(s/2) keeps the output variance of the upsampler.
      wn(p + "1", {cin, cout, 2 * s}, std::sqrt(double(s) / 2.0), /*transpose=*/true);
      for (int j = 0; j < 3; ++j)
        for (int l = 0; l < 3; ++l)
          unit(p + "2.mrf_blocks." + std::to_string(j) + ".block." + std::to_string(l) + ".layer", cout, kernels[j],
               kernels[j]);
      cin = cout;
    }
    snake("decoder.model." + std::to_string(c.decoder_rates.size() + 1) + ".alpha", cin);
    wn("decoder.model." + std::to_string(c.decoder_rates.size() + 2), {1, cin, 7}, 0.5);
  }

  ck.kwargs = py_dict({{"encoder_dim", py_int(c.encoder_dim)},
                       {"encoder_rates", py_int_list(c.encoder_rates)},
                       {"decoder_dim", py_int(c.decoder_dim)},
                       {"decoder_rates", py_int_list(c.decoder_rates)},
                       {"n_codebooks", py_int(c.n_codebooks)},
                       {"codebook_size", py_int(c.codebook_size)},
                       {"codebook_dim", py_int(c.codebook_dim)},
                       {"quantizer_dropout", py_bool(false)},
                       {"sample_rate", py_int(c.sample_rate)}});
  if (istft)
    for (auto& [k, v] : std::vector<std::pair<std::string, PyRef>>{{"decoder", py_str("istft")},
                                                                   {"decoder_layers", py_int(c.decoder_layers)},
                                                                   {"n_fft", py_int(c.n_fft)},
                                                                   {"istft_hop", py_int(c.istft_hop)}})
      ck.kwargs->dict.emplace_back(py_str(k), v);
  ck.metadata = py_dict({{"kwargs", ck.kwargs}});
  return ck;
}

}  // namespace vamp

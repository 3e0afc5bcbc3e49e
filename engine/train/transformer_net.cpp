// transformer_net: differentiable VampNet and the masked-token objective.
#include "transformer_net.h"

#include <cmath>

namespace vamp::train {

namespace {
constexpr double kRmsEps = 1e-6;

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w) {
  return w * (x * at::rsqrt(x.pow(2).mean(-1, true) + kRmsEps));
}
}  // namespace

TransformerNet::TransformerNet(const Params& params, TransformerConfig config, std::vector<at::Tensor> codebooks,
                               bool bf16)
    : p_(params), bf16_(bf16), cfg_(config) {
  const at::Device dev = params["embedding.special.MASK"].device();
  std::vector<at::Tensor> tables;
  for (int64_t c = 0; c < cfg_.n_codebooks; ++c) tables.push_back(codebooks.at(size_t(c)).to(dev, at::kFloat));
  codebooks_ = at::stack(tables, 0);
}

at::Tensor TransformerNet::product(const at::Tensor& x, const at::Tensor& w_t) const {
  if (!bf16_) return at::matmul(x, w_t);
  return at::matmul(x.to(at::kBFloat16), w_t.to(at::kBFloat16)).to(at::kFloat);
}

at::Tensor TransformerNet::linear(const std::string& key, const at::Tensor& x) const {
  return product(x, p_[key + ".weight"].t());
}

at::Tensor TransformerNet::forward(const at::Tensor& codes, double dropout) const {
  const int64_t B = codes.size(0), C = cfg_.n_codebooks, T = codes.size(2), V = cfg_.vocab_size,
                D = cfg_.embedding_dim, H = cfg_.n_heads, dh = D / H, Cp = C - cfg_.n_conditioning_codebooks;
  const bool train = dropout > 0;
  // Embedding: each code's codec vector (MASK: the learned vector), concatenated, then out_proj.
  const at::Tensor mask_rows = p_["embedding.special.MASK"].unsqueeze(1);              // [C,1,Ld]
  const at::Tensor table = at::cat({codebooks_, mask_rows}, 1);                         // [C,V+1,Ld]
  const at::Tensor offsets = at::arange(C, codes.options()).view({1, C, 1}) * (V + 1);
  const at::Tensor flat = table.reshape({C * (V + 1), cfg_.latent_dim});
  const at::Tensor lat = at::embedding(flat, (codes + offsets).permute({0, 2, 1}).reshape({B, T * C}))
                             .reshape({B, T, C * cfg_.latent_dim});
  const at::Tensor in_w = p_["embedding.out_proj.weight"].squeeze(2);
  at::Tensor x = at::matmul(lat, in_w.t()) + p_["embedding.out_proj.bias"];  // [B,T,D]

  // Relative position bias from layer 0's table, shared by every layer: [H, T, T].
  std::vector<int64_t> idx(size_t(T * T));
  for (int64_t q = 0; q < T; ++q)
    for (int64_t k = 0; k < T; ++k) idx[size_t(q * T + k)] = Transformer::relative_bucket(k - q);
  const at::Tensor buckets = at::tensor(idx, at::TensorOptions().dtype(at::kLong)).to(x.device());
  const at::Tensor bias = at::embedding(p_["transformer.layers.0.self_attn.relative_attention_bias.weight"], buckets)
                              .view({T, T, H}).permute({2, 0, 1});

  for (int64_t l = 0; l < cfg_.n_layers; ++l) {
    const std::string p = "transformer.layers." + std::to_string(l) + ".";
    at::Tensor y = rms_norm(x, p_[p + "norm_1.weight"]);
    auto heads = [&](const at::Tensor& t) { return t.view({B, T, H, dh}).permute({0, 2, 1, 3}); };
    const at::Tensor q = heads(linear(p + "self_attn.w_qs", y)), k = heads(linear(p + "self_attn.w_ks", y)),
                     v = heads(linear(p + "self_attn.w_vs", y));
    at::Tensor a = at::softmax(at::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(dh)) + bias, -1);
    a = at::dropout(a, dropout, train);
    const at::Tensor o = at::matmul(a, v).permute({0, 2, 1, 3}).reshape({B, T, D});
    x = x + at::dropout(linear(p + "self_attn.fc", o), dropout, train);
    y = rms_norm(x, p_[p + "norm_3.weight"]);
    const at::Tensor u = linear(p + "feed_forward.w_1", y);
    const at::Tensor g = u.narrow(2, 0, 2 * D) * at::gelu(u.narrow(2, 2 * D, 2 * D), "tanh");
    x = x + at::dropout(linear(p + "feed_forward.w_2", at::dropout(g, dropout, train)), dropout, train);
  }
  x = rms_norm(x, p_["transformer.norm.weight"]);
  // Weight-normed 1x1 conv classifier; channel v * Cp + c -> sequence index t * Cp + c.
  const at::Tensor w = at::_weight_norm(p_["classifier.layers.0.weight_v"], p_["classifier.layers.0.weight_g"], 0);
  const at::Tensor out = product(x, w.squeeze(2).t()) + p_["classifier.layers.0.bias"];  // [B,T,V*Cp]
  return out.view({B, T, V, Cp}).permute({0, 1, 3, 2}).reshape({B, T * Cp, V});
}

at::Tensor cosine_schedule_mask(int64_t B, int64_t C, int64_t T, int64_t n_conditioning, at::Generator& gen) {
  const at::Tensor r = at::rand({B, 1, 1}, gen);
  const at::Tensor p = at::cos(r * (M_PI / 2)).expand({B, C, T});
  at::Tensor mask = at::bernoulli(p, gen).to(at::kLong);
  if (n_conditioning > 0) mask.narrow(1, 0, n_conditioning).zero_();
  return mask;
}

MaskedLoss masked_token_loss(const TransformerNet& net, const at::Tensor& codes, const at::Tensor& mask,
                             double dropout, double label_smoothing) {
  const auto& cfg = net.config();
  const int64_t nc = cfg.n_conditioning_codebooks, Cp = cfg.n_codebooks - nc, B = codes.size(0), T = codes.size(2);
  const at::Tensor masked_codes = at::where(mask.to(at::kBool), at::full_like(codes, cfg.vocab_size), codes);
  const at::Tensor logits = net.forward(masked_codes, dropout);  // [B, T*Cp, V]
  // Targets in the model's t * Cp + c order; unmasked positions are ignored (index -100).
  const at::Tensor target = codes.narrow(1, nc, Cp).permute({0, 2, 1}).reshape({B, T * Cp});
  const at::Tensor m = mask.narrow(1, nc, Cp).permute({0, 2, 1}).reshape({B, T * Cp}).to(at::kBool);
  const at::Tensor ignored = at::where(m, target, at::full_like(target, -100));
  MaskedLoss out;
  out.tokens = m.sum().item<int64_t>();
  if (out.tokens == 0) {  // a row drawn with r ~ 1 masks nothing: no loss, no update
    out.loss = logits.sum() * 0.0;
    return out;
  }
  out.loss = at::cross_entropy_loss(logits.reshape({B * T * Cp, cfg.vocab_size}), ignored.reshape({-1}), {},
                                    at::Reduction::Mean, -100, label_smoothing);
  at::NoGradGuard no_grad;
  const at::Tensor hits = (logits.argmax(-1) == target).logical_and(m).sum();
  out.accuracy = out.tokens ? double(hits.item<int64_t>()) / double(out.tokens) : 0.0;
  return out;
}

}  // namespace vamp::train

// transformer_net: the VampNet transformer as a differentiable function of its checkpoint tensors,
// and the masked-token objective it is trained with (vampnet/scripts/exp/train.py).
//
// Same graph as engine/src/transformer.cpp in fp32 (LoRA-free layout, weight-normed classifier applied
// on every call), plus dropout on the attention weights and the residual branches while training.
#pragma once

#include "optim.h"
#include "vamp/transformer.h"

#include <ATen/ATen.h>

#include <vector>

namespace vamp::train {

class TransformerNet {
 public:
  // codebooks: the codec's raw tables [vocab, latent_dim] (fixed, as in VampNet's embedding).
  // bf16: the linear maps and the classifier multiply in bfloat16 (fp32 weights and accumulation
  // kept), mixed precision for CPUs with native bf16, where it is ~2x faster to train.
  TransformerNet(const Params& params, TransformerConfig config, std::vector<at::Tensor> codebooks,
                 bool bf16 = false);
  const TransformerConfig& config() const { return cfg_; }

  // codes int64 [B, C, T] with vocab_size meaning MASK -> logits [B, T * Cp, vocab] (index t*Cp+c).
  at::Tensor forward(const at::Tensor& codes, double dropout) const;

 private:
  at::Tensor linear(const std::string& key, const at::Tensor& x) const;
  at::Tensor product(const at::Tensor& x, const at::Tensor& w_t) const;  // x @ w_t in the compute type
  const Params& p_;
  bool bf16_;
  TransformerConfig cfg_;
  at::Tensor codebooks_;  // [C, vocab, latent_dim]
};

// The training masks of train.py: per row r ~ U(0,1), every token masked with probability
// cos(r * pi / 2); conditioning codebooks never masked. int64 [B, C, T], 1 = masked.
at::Tensor cosine_schedule_mask(int64_t B, int64_t C, int64_t T, int64_t n_conditioning, at::Generator& gen);

struct MaskedLoss {
  at::Tensor loss;        // cross entropy with label smoothing 0.1 over the masked predicted tokens
  double accuracy = 0.0;  // argmax accuracy on those tokens
  int64_t tokens = 0;
};
// codes: ground truth [B, C, T]; mask as above. Runs the model on the masked codes.
MaskedLoss masked_token_loss(const TransformerNet& net, const at::Tensor& codes, const at::Tensor& mask,
                             double dropout, double label_smoothing = 0.1);

}  // namespace vamp::train

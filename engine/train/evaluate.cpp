// evaluate: held-out quality of a trained codec + coarse + c2f set.
#include "evaluate.h"

#include "codec_net.h"
#include "vamp/mask.h"
#include "vamp/sampler.h"

#include <ATen/core/grad_mode.h>

#include <cmath>

namespace vamp::train {

namespace {

// The first `seconds` of piece i as [1,1,N], N a multiple of hop.
at::Tensor excerpt(const AudioSet& set, size_t i, double seconds, int64_t sample_rate, int64_t hop) {
  const at::Tensor& p = set.piece(i);
  const int64_t n = std::min<int64_t>(p.numel(), int64_t(seconds * double(sample_rate))) / hop * hop;
  return p.narrow(0, 0, n).reshape({1, 1, n});
}

double pearson(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a - a.mean(), y = b - b.mean();
  return (x * y).sum().item<double>() / std::sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>() + 1e-20);
}

// Adds piece's band measures of output y against input x (both [1,1,N]) to `bands`.
void add_bands(const at::Tensor& y, const at::Tensor& x, int64_t sample_rate, std::vector<BandQuality>& bands) {
  const at::Tensor X = at::fft_rfft(x.flatten()), Y = at::fft_rfft(y.flatten());
  const at::Tensor ex = at::abs(X).pow(2), ey = at::abs(Y).pow(2), ee = at::abs(Y - X).pow(2);
  const double total = ex.sum().item<double>() + 1e-20;
  const int64_t n = x.numel(), F = X.size(0);
  for (auto& b : bands) {
    const int64_t lo = std::min<int64_t>(F, int64_t(b.lo_hz * double(n) / double(sample_rate)));
    const int64_t hi = std::min<int64_t>(F, int64_t(b.hi_hz * double(n) / double(sample_rate)) + 1);
    const double in = ex.narrow(0, lo, hi - lo).sum().item<double>() + 1e-20;
    b.input_share += in / total;
    b.energy_ratio += ey.narrow(0, lo, hi - lo).sum().item<double>() / in;
    b.snr_db += 10.0 * std::log10(in / (ee.narrow(0, lo, hi - lo).sum().item<double>() + 1e-20));
  }
}

}  // namespace

at::Tensor lowpass(const at::Tensor& audio, int64_t sample_rate, double cutoff_hz) {
  const int64_t n = audio.size(-1);
  at::Tensor spec = at::fft_rfft(audio);
  const int64_t keep = int64_t(cutoff_hz * double(n) / double(sample_rate)) + 1;
  if (keep < spec.size(-1)) spec.narrow(-1, keep, spec.size(-1) - keep).zero_();
  return at::fft_irfft(spec, n);
}

at::Tensor chroma(const at::Tensor& audio, int64_t sample_rate) {
  const int64_t n_fft = 8192;
  const at::Tensor spec = at::stft(audio.flatten(), n_fft, n_fft / 4, n_fft, at::hann_window(n_fft), false, true, true);
  const at::Tensor power = at::abs(spec).pow(2).mean(1);  // [bins]
  at::Tensor pc = at::zeros({12});
  auto p = power.accessor<float, 1>();
  auto out = pc.accessor<float, 1>();
  for (int64_t k = 1; k < power.size(0); ++k) {
    const double f = double(k) * double(sample_rate) / double(n_fft);
    if (f < 55.0 || f > 4000.0) continue;  // pitched range; drums and air carry no key
    const int64_t midi = int64_t(std::lround(69.0 + 12.0 * std::log2(f / 440.0)));
    out[midi % 12] += p[k];
  }
  return pc / pc.sum().clamp_min(1e-20);
}

CodecQuality evaluate_codec(const Codec& codec, const AudioSet& heldout, double seconds) {
  at::NoGradGuard no_grad;
  const auto& cfg = codec.config();
  MelLoss mel(cfg.sample_rate, at::kCPU);
  CodecQuality q;
  for (auto [lo, hi] : {std::pair{0.0, 150.0}, {150.0, 500.0}, {500.0, 2000.0}, {2000.0, 6000.0},
                        {6000.0, cfg.sample_rate / 2.0}})
    q.bands.push_back({lo, hi});
  for (size_t i = 0; i < heldout.size(); ++i) {
    const at::Tensor x = excerpt(heldout, i, seconds, cfg.sample_rate, cfg.hop_length);
    if (x.size(2) == 0) continue;
    const at::Tensor codes = codec.encode_chunked(x, 256);
    const at::Tensor y = codec.decode_chunked(codes, 256).to(at::kCPU);
    auto first = [&](int64_t k) {  // decoded from the first k codebooks (all of them: y itself)
      return k >= codes.size(1) ? y : codec.decode_chunked(codes.narrow(1, 0, k), 256).to(at::kCPU);
    };
    const at::Tensor y4 = first(4);
    q.mel_codec += mel(y, x).item<double>();
    q.mel_lowpass += mel(lowpass(x, cfg.sample_rate, 3000.0), x).item<double>();
    q.mel_coarse += mel(y4, x).item<double>();
    q.si_sdr += si_sdr(y, x).item<double>();
    q.si_sdr_first4 += si_sdr(y4, x).item<double>();
    q.si_sdr_first8 += si_sdr(first(8), x).item<double>();
    add_bands(y, x, cfg.sample_rate, q.bands);
    ++q.pieces;
  }
  if (q.pieces) {
    q.mel_codec /= q.pieces;
    q.mel_lowpass /= q.pieces;
    q.mel_coarse /= q.pieces;
    q.si_sdr /= q.pieces;
    q.si_sdr_first4 /= q.pieces;
    q.si_sdr_first8 /= q.pieces;
    for (auto& b : q.bands) {
      b.input_share /= q.pieces;
      b.energy_ratio /= q.pieces;
      b.snr_db /= q.pieces;
    }
  }
  return q;
}

TokenQuality evaluate_masked_accuracy(const Transformer& coarse, const Codec& codec, const AudioSet& train,
                                      const AudioSet& heldout, int64_t period, int64_t frames) {
  at::NoGradGuard no_grad;
  const int64_t C = coarse.n_codebooks(), V = coarse.vocab_size();
  const auto& cfg = codec.config();
  auto tokens = [&](const AudioSet& set, size_t i) {
    const at::Tensor x = excerpt(set, i, 1e9, cfg.sample_rate, cfg.hop_length);
    return codec.encode_chunked(x, 256).narrow(1, 0, C).to(at::kCPU);  // [1,C,T]
  };
  // Each codebook's most frequent token over the training set.
  at::Tensor counts = at::zeros({C, V}, at::kLong);
  for (size_t i = 0; i < train.size(); ++i) {
    const at::Tensor z = tokens(train, i)[0];
    for (int64_t c = 0; c < C; ++c) counts[c] += at::bincount(z[c], {}, V);
  }
  const at::Tensor unigram = counts.argmax(1).view({1, C, 1});
  TokenQuality q;
  int64_t hits = 0, unigram_hits = 0;
  for (size_t i = 0; i < heldout.size(); ++i) {
    const at::Tensor z = tokens(heldout, i);
    for (int64_t t0 = 0; t0 + frames <= z.size(2); t0 += frames) {
      const at::Tensor w = z.narrow(2, t0, frames);
      const at::Tensor m = mask::periodic_mask_at(w.sizes(), period, 1, 0);  // 1 = masked
      const at::Tensor pred = coarse.token_logits(mask::apply_mask(w, m, coarse.mask_token()))
                                  .argmax(-1).to(at::kCPU).view({1, frames, C}).permute({0, 2, 1});
      const at::Tensor sel = m.to(at::kBool);
      hits += (pred == w).logical_and(sel).sum().item<int64_t>();
      unigram_hits += (unigram.expand_as(w) == w).logical_and(sel).sum().item<int64_t>();
      q.tokens += sel.sum().item<int64_t>();
    }
  }
  if (q.tokens) {
    q.accuracy = double(hits) / double(q.tokens);
    q.unigram_accuracy = double(unigram_hits) / double(q.tokens);
  }
  return q;
}

ChromaQuality evaluate_variation(const Codec& codec, const Transformer& coarse, const Transformer* c2f,
                                 const AudioSet& heldout, int64_t period, int64_t frames, double seconds,
                                 uint64_t seed) {
  at::NoGradGuard no_grad;
  const auto& cfg = codec.config();
  std::vector<at::Tensor> inputs, chromas;
  for (size_t i = 0; i < heldout.size(); ++i) {
    inputs.push_back(excerpt(heldout, i, seconds, cfg.sample_rate, cfg.hop_length));
    chromas.push_back(chroma(inputs.back(), cfg.sample_rate));
  }
  ChromaQuality q;
  VampParams params;
  params.coarse_window = frames;
  params.c2f_window = frames;
  for (size_t i = 0; i < inputs.size() && inputs.size() > 1; ++i) {
    const at::Tensor codes = codec.encode_chunked(inputs[i], 256).to(at::kCPU);
    const int64_t C = std::max(coarse.n_codebooks(), c2f ? c2f->n_codebooks() : int64_t(0));
    at::Tensor m = mask::periodic_mask_at({1, codes.size(1), codes.size(2)}, period, 1, 0);
    const at::Tensor out = vamp(coarse, c2f, codes.narrow(1, 0, std::min(C, codes.size(1))), m, params, seed + i);
    const at::Tensor audio = codec.decode_chunked(out, 256).to(at::kCPU);
    const double with_input = pearson(chroma(audio, cfg.sample_rate), chromas[i]);
    const double with_other = pearson(chromas[(i + 1) % inputs.size()], chromas[i]);
    q.with_input += with_input;
    q.with_other += with_other;
    q.wins += with_input > with_other;
    ++q.pieces;
  }
  if (q.pieces) {
    q.with_input /= q.pieces;
    q.with_other /= q.pieces;
  }
  return q;
}

}  // namespace vamp::train

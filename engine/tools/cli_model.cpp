// vamp-cli logits / generate / vamp / make-transformer: the transformer and the sampler.
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "vamp/loudness.h"
#include "vamp/mask.h"
#include "vamp/npy.h"
#include "vamp/sampler.h"
#include "cli.h"
#include "vamp/transformer.h"
#include "vamp/wav.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>

namespace vamp::cli {

namespace {

const char* kLogitsUsage =
    "vamp-cli logits --model M.pth --codec C.pth --codes Z.npy [--mask M.npy] --out L.npy\n"
    "    float32 [B,1024,T*Cp] logits (index t*Cp+c) of codes int [B,C,T]; masked positions\n"
    "    (mask [B,C,T] or [B,T], 1 = masked) are set to MASK first";
const char* kGenerateUsage =
    "vamp-cli generate --model M.pth --codec C.pth --codes Z.npy [--mask M.npy] --steps S --seed N\n"
    "      [--temperature X] [--mask-temperature X] [--top-p X] [--sample-cutoff X] --out Z2.npy\n"
    "    one VampNet.generate call; no mask = generate every non-conditioning codebook;\n"
    "    row b seeded N+b; --top-p 0 (default) = off";
const char* kVampUsage =
    "vamp-cli vamp --coarse M.pth --c2f M2.pth --codec C.pth --in codes.npy|codes.vtok|audio.wav --out codes.npy|codes.vtok|audio.wav\n"
    "      [--mask M.npy | mask options of `vamp-cli mask`] --seed N --steps S [--temperature X]\n"
    "      [--top-p X] [--sample-cutoff X] [--feedback-steps F] [--time-stretch K]\n"
    "      [--coarse-window-frames A] [--c2f-window-frames B]\n"
    "    the reference app's flow: coarse windows (default 10 s), then coarse-to-fine windows\n"
    "    (default 3 s) at its fixed settings; no mask = generate everything; audio in is mono at the\n"
    "    codec rate, loudness-normalized to -24 LUFS as the reference does";
const char* kMakeUsage =
    "vamp-cli make-transformer --preset tiny-coarse|tiny-c2f|full-coarse|full-c2f --seed N --out M.pth\n"
    "    random (untrained) weights in the released checkpoint layout, LoRA keys included";

// The codec's raw quantizer tables, which the transformers embed codes with.
std::vector<at::Tensor> codebooks(const Codec& codec) {
  std::vector<at::Tensor> books;
  for (int i = 0; i < codec.config().n_codebooks; ++i) books.push_back(codec.codebook(i));
  return books;
}

bool is_wav(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".wav") == 0;
}

// Audio in as the reference app prepares it (the original interface.py, Interface._preprocess): mono,
// -24 LUFS, peak <= 1, right zero-pad to whole frames; then encoded. No resampling here.
at::Tensor encode_wav(const Codec& codec, const std::string& path) {
  Audio audio = load_wav(path);
  const auto& cfg = codec.config();
  if (audio.sample_rate != cfg.sample_rate)
    throw std::runtime_error(path + ": " + std::to_string(audio.sample_rate) + " Hz; the codec needs " +
                             std::to_string(cfg.sample_rate) + " Hz (resample first, e.g. sox in.wav -r " +
                             std::to_string(cfg.sample_rate) + " out.wav)");
  if (audio.samples.size(-1) == 0) throw std::runtime_error(path + ": no samples (an empty recording)");
  at::Tensor x = to_mono(audio.samples.unsqueeze(0));  // [1,1,N]
  x = ensure_max(normalize(x, cfg.sample_rate, -24.0), 1.0);
  const int64_t n = x.size(-1), frames = (n + cfg.hop_length - 1) / cfg.hop_length;
  x = at::constant_pad_nd(x, {0, frames * cfg.hop_length - n});
  return codec.encode(x).to(at::kCPU);
}

at::Tensor read_mask(const std::string& path) {
  at::Tensor m = load_npy(path);
  if (at::isFloatingType(m.scalar_type())) throw std::runtime_error(path + ": mask must be integer or bool");
  return m.to(at::kLong);
}

SamplingParams sampling_args(const Args& a, SamplingParams p) {
  p.steps = int(a.integer("steps"));
  p.temperature = a.number("temperature", p.temperature);
  p.mask_temperature = a.number("mask-temperature", p.mask_temperature);
  const double top_p = a.number("top-p", 0.0);
  if (top_p > 0.0) p.top_p = top_p;
  p.sample_cutoff = a.number("sample-cutoff", p.sample_cutoff);
  if (p.steps < 1) throw Usage("--steps must be >= 1");
  return p;
}

int logits_cmd(const Args& a) {
  a.allow({"model", "codec", "codes", "mask", "out"});
  auto codec = Codec::load(a.str("codec"));  // for its codebooks only
  auto model = Transformer::load(a.str("model"), codebooks(*codec), at::kCPU, precision_arg(a));
  report_precision("transformer", model->precision(), model->precision_note());
  at::Tensor codes = load_codes(a.str("codes"));
  if (a.has("mask")) {
    at::Tensor m = read_mask(a.str("mask"));
    if (m.dim() == 2) m = m.unsqueeze(1).expand({m.size(0), codes.size(1), m.size(1)});
    if (m.sizes() != codes.sizes()) throw std::runtime_error("mask shape does not match the codes");
    codes = codes.masked_fill(m.ne(0), model->mask_token());
  }
  save_npy(a.str("out"), model->logits(codes));
  return 0;
}

int generate_cmd(const Args& a) {
  a.allow({"model", "codec", "codes", "mask", "out", "steps", "seed", "temperature", "mask-temperature", "top-p",
           "sample-cutoff"});
  SamplingParams p = sampling_args(a, SamplingParams());
  const uint64_t seed = uint64_t(a.integer("seed"));
  const std::string out = a.str("out");
  auto codec = Codec::load(a.str("codec"));  // for its codebooks only
  auto model = Transformer::load(a.str("model"), codebooks(*codec), at::kCPU, precision_arg(a));
  report_precision("transformer", model->precision(), model->precision_note());
  at::Tensor codes = load_codes(a.str("codes"));
  at::Tensor mask = a.has("mask") ? read_mask(a.str("mask")) : at::Tensor();
  auto gens = row_generators(seed, codes.size(0));
  save_npy(out, generate(*model, codes, mask, p, gens));
  return 0;
}

int vamp_cmd(const Args& a) {
  std::vector<std::string> known{"coarse", "c2f", "codec", "in", "out", "mask", "seed", "steps", "temperature",
                                 "top-p", "sample-cutoff", "feedback-steps", "time-stretch",
                                 "coarse-window-frames", "c2f-window-frames"};
  known.insert(known.end(), mask_option_names().begin(), mask_option_names().end());
  a.allow(known);
  const std::string in = a.str("in"), out = a.str("out");
  VampParams p;
  p.coarse = sampling_args(a, SamplingParams());
  p.feedback_steps = int(a.integer("feedback-steps", 1));
  p.time_stretch = int(a.integer("time-stretch", 1));
  const uint64_t seed = uint64_t(a.integer("seed"));
  const Precision precision = precision_arg(a);
  auto codec = Codec::load(a.str("codec"), at::kCPU, precision);
  report_precision("codec", codec->precision(), codec->precision_note());
  const auto& cfg = codec->config();
  p.coarse_window = a.integer("coarse-window-frames", seconds_to_frames(10.0, int(cfg.sample_rate), int(cfg.hop_length)));
  p.c2f_window = a.integer("c2f-window-frames", seconds_to_frames(3.0, int(cfg.sample_rate), int(cfg.hop_length)));
  if (p.feedback_steps < 1 || p.time_stretch < 1 || p.coarse_window < 1 || p.c2f_window < 1)
    throw Usage("--feedback-steps, --time-stretch and the window sizes must be >= 1");
  auto coarse = Transformer::load(a.str("coarse"), codebooks(*codec), at::kCPU, precision);
  auto c2f = Transformer::load(a.str("c2f"), codebooks(*codec), at::kCPU, precision);
  report_precision("transformers", coarse->precision(), coarse->precision_note());
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); };
  auto t0 = clock::now();
  at::Tensor file_mask;  // a .vtok with a mask plane (vampmask's output) carries its prompt
  at::Tensor codes = is_wav(in) ? encode_wav(*codec, in) : load_codes(in, &file_mask);
  const double t_encode = is_wav(in) ? secs(t0) : 0.0;

  // The prompt: a mask file, or mask options as vampmask's properties, or generate everything.
  bool mask_options = false;
  for (const auto& name : mask_option_names()) mask_options = mask_options || (name != "seed" && a.has(name));
  at::Tensor mask;
  if (a.has("mask")) mask = read_mask(a.str("mask"));
  else if (file_mask.defined() && !mask_options) mask = file_mask;
  else if (mask_options)
    mask = mask_from_args(a, codes.sizes(), int(cfg.sample_rate), int(cfg.hop_length), is_wav(in) ? in : "");
  else mask = at::ones_like(codes);
  if (mask.dim() == 2) mask = mask.unsqueeze(0);

  t0 = clock::now();
  at::Tensor result = vamp::vamp(*coarse, c2f.get(), codes, mask, p, seed);
  const double t_vamp = secs(t0);
  double t_decode = 0.0;
  if (is_wav(out)) {
    t0 = clock::now();
    at::Tensor audio = codec->decode(result).to(at::kCPU);
    t_decode = secs(t0);
    save_wav(out, {audio[0], int(cfg.sample_rate)});
  } else {
    save_codes(out, result, *codec);
  }
  const double dur = double(result.size(2) * cfg.hop_length) / double(cfg.sample_rate);
  std::fprintf(stderr, "timing: %.2f s of audio; encode %.2f s, coarse + c2f %.2f s, decode %.2f s; total %.2f s "
               "(real-time factor %.2f)\n", dur, t_encode, t_vamp, t_decode, t_encode + t_vamp + t_decode,
               (t_encode + t_vamp + t_decode) / dur);
  return 0;
}

int make_transformer_cmd(const Args& a) {
  a.allow({"preset", "seed", "out"});
  TransformerConfig cfg;
  try {
    cfg = TransformerConfig::preset(a.str("preset"));
  } catch (const std::invalid_argument& e) {
    throw Usage(e.what());
  }
  Checkpoint ck = random_transformer_checkpoint(cfg, uint64_t(a.integer("seed")));
  save_checkpoint(a.str("out"), ck);
  return 0;
}

}  // namespace

std::vector<Command> model_commands() {
  return {{"logits", kLogitsUsage, logits_cmd},
          {"generate", kGenerateUsage, generate_cmd},
          {"vamp", kVampUsage, vamp_cmd},
          {"make-transformer", kMakeUsage, make_transformer_cmd}};
}

}  // namespace vamp::cli

// heldout_measures: round trip, Opus and variation of each held-out clip, measured (see the header).
#include "heldout_measures.h"

#include "dataset.h"
#include "opus_yardstick.h"
#include "vamp/wav.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace vamp::train {

std::vector<uint16_t> encode_clip(const std::shared_ptr<CodecModel>& codec, const at::Tensor& audio) {
  const at::Tensor x = audio.detach().to(at::kCPU, at::kFloat).contiguous().flatten();
  StreamEncoder enc(codec, 0, 8);  // vampenc: codebooks=0 (all), frames-per-buffer 8
  std::vector<uint16_t> codes;
  enc.push(x.data_ptr<float>(), size_t(x.numel()));
  enc.pull(codes);
  enc.drain(codes);
  return codes;
}

at::Tensor decode_clip(const std::shared_ptr<CodecModel>& codec, const std::vector<uint16_t>& codes, int k) {
  StreamDecoder dec(codec, k, 8);
  std::vector<float> audio;
  dec.push(codes.data(), codes.size() / size_t(k));
  dec.pull(audio);
  dec.drain(audio);
  return at::from_blob(audio.data(), {int64_t(audio.size())}, at::kFloat).clone();
}

std::vector<uint16_t> vary_codes(const std::shared_ptr<TransformerModel>& coarse,
                                 const std::shared_ptr<TransformerModel>& c2f, const std::vector<uint16_t>& codes,
                                 int k_in, const VariationSettings& s, int& k_out) {
  const CodecInfo& info = coarse->codec()->info();
  const size_t frames = codes.size() / size_t(k_in);
  // vampmask: the element's defaults (MaskSettings()) with the script's properties.
  MaskSettings ms;
  ms.periodic_prompt = s.period;
  ms.periodic_width = s.width;
  ms.upper_codebook_mask = s.keep_codebooks;
  ms.seed = s.seed;
  StreamMasker masker(k_in, info.sample_rate, info.hop_length, ms);
  std::vector<uint8_t> mask;
  masker.mask(0, frames, mask);
  // vampsample: the element's defaults (SampleSettings(), BatchSettings()) with the script's.
  SampleSettings ss;
  ss.steps = s.steps;
  ss.c2f_steps = s.c2f_steps;
  ss.seed = s.seed;
  ss.window_frames = s.window_frames;
  ss.context_frames = s.context_frames;
  StreamSampler sampler(coarse, c2f, ss, k_in);
  std::vector<uint16_t> out;
  sampler.push(codes.data(), mask.data(), frames);
  while (sampler.window_ready()) sampler.pull(out);
  sampler.drain(out);
  k_out = sampler.codebooks_out();
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

namespace {

AudioMeasures medians(const std::vector<ClipMeasures>& clips, AudioMeasures ClipMeasures::*which) {
  std::vector<double> mel, flat, chroma, level;
  for (const auto& c : clips) {
    const AudioMeasures& m = c.*which;
    mel.push_back(m.mel);
    flat.push_back(m.flatness_ratio);
    chroma.push_back(m.chroma);
    level.push_back(m.level_diff_db);
  }
  return {median(mel), median(flat), median(chroma), median(level)};
}

void write(const std::string& dir, const std::string& stem, const char* what, const at::Tensor& audio, int rate) {
  save_wav(dir + "/" + stem + "." + what + ".wav", {audio.detach().to(at::kCPU, at::kFloat).reshape({1, -1}), rate});
}

}  // namespace

HeldoutMeasures measure_heldout(const std::shared_ptr<CodecModel>& codec,
                                const std::shared_ptr<TransformerModel>& coarse,
                                const std::shared_ptr<TransformerModel>& c2f, const std::string& dir,
                                const HeldoutOptions& o) {
  at::NoGradGuard no_grad;
  const CodecInfo& info = codec->info();
  const int rate = info.sample_rate, hop = info.hop_length, K = info.n_codebooks;
  const AudioSet clips(dir, rate);
  if (!o.wav_out.empty()) std::filesystem::create_directories(o.wav_out);
  HeldoutMeasures r;
  r.has_opus = opus_available();
  r.has_variation = coarse != nullptr;
  for (size_t i = 0; i < clips.size(); ++i) {
    const at::Tensor& p = clips.piece(i);
    int64_t n = p.numel();
    if (o.max_seconds > 0) n = std::min<int64_t>(n, int64_t(o.max_seconds * rate));
    n = n / hop * hop;  // whole token frames: every output has the input's length
    if (n <= 4096) continue;  // too short for the 4096-point chroma STFT
    const at::Tensor x = p.narrow(0, 0, n).contiguous();
    ClipMeasures c;
    c.name = clips.name(i);
    c.seconds = double(n) / rate;

    const std::vector<uint16_t> codes = encode_clip(codec, x);
    const at::Tensor round_trip = decode_clip(codec, codes, K);
    c.round_trip = measure_against(round_trip, x, rate);
    at::Tensor opus;
    if (r.has_opus) {
      opus = opus_round_trip(x, rate, o.opus_bitrate, o.opus_fullband);
      c.opus = measure_against(opus, x, rate);
    }
    at::Tensor variation;
    if (coarse) {
      int k_out = 0;
      const std::vector<uint16_t> varied = vary_codes(coarse, c2f, codes, K, o.variation, k_out);
      variation = decode_clip(codec, varied, k_out);
      c.variation = measure_against(variation, x, rate);
    }

    if (!o.wav_out.empty()) {
      const std::string stem = c.name.substr(0, c.name.size() - 4);
      write(o.wav_out, stem, "input", x, rate);
      write(o.wav_out, stem, "roundtrip", round_trip, rate);
      if (r.has_opus) write(o.wav_out, stem, "opus", opus, rate);
      if (coarse) write(o.wav_out, stem, "variation", variation, rate);
    }
    r.clips.push_back(c);
    if (o.on_clip) o.on_clip(r.clips.back());
  }
  r.median_round_trip = medians(r.clips, &ClipMeasures::round_trip);
  r.median_opus = medians(r.clips, &ClipMeasures::opus);
  r.median_variation = medians(r.clips, &ClipMeasures::variation);
  return r;
}

std::vector<Floor> heldout_floors(const HeldoutMeasures& m) {
  std::vector<Floor> f;
  char bound[64];
  if (m.has_opus) {
    std::snprintf(bound, sizeof bound, "<= 1.25 x Opus = %.3f", 1.25 * m.median_opus.mel);
    f.push_back({"round-trip log-mel distance", bound, m.median_round_trip.mel,
                 m.median_round_trip.mel <= 1.25 * m.median_opus.mel});
  } else {
    f.push_back({"round-trip log-mel distance", "<= 1.25 x Opus (unavailable)", m.median_round_trip.mel, false,
                 false});
  }
  f.push_back({"round-trip flatness ratio", "<= 3", m.median_round_trip.flatness_ratio,
               m.median_round_trip.flatness_ratio <= 3.0});
  const auto& v = m.median_variation;
  f.push_back({"variation flatness ratio", "<= 4", v.flatness_ratio, v.flatness_ratio <= 4.0, m.has_variation});
  f.push_back({"variation level difference (dB)", "within +-3", v.level_diff_db, std::abs(v.level_diff_db) <= 3.0,
               m.has_variation});
  f.push_back({"variation chroma cosine", ">= 0.9", v.chroma, v.chroma >= 0.9, m.has_variation});
  return f;
}

}  // namespace vamp::train

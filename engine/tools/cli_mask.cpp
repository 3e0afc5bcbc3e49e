// vamp-cli mask: build a mask for codes the way the reference app does (mask.h build_mask).
#include "vamp/beat.h"
#include "vamp/mask.h"
#include "vamp/npy.h"
#include "cli.h"
#include "vamp/wav.h"

#include <iostream>

namespace vamp::cli {

namespace {

const char* kMaskUsage =
    "vamp-cli mask --codes Z.npy --out M.npy [--seed N] [--preset NAME] [--audio A.wav]\n"
    "      [--periodic-prompt N] [--periodic-width N] [--random-roll | --no-random-roll]\n"
    "      [--prefix-s X] [--suffix-s X] [--rand-mask-intensity X]\n"
    "      [--onset-mask-width N] [--beat-mask-width-ms X] [--downbeats-only] [--dropout X]\n"
    "      [--n-conditioning-codebooks N] [--upper-codebook-mask N] [--reference main|ismir2023]\n"
    "      [--sample-rate N] [--hop N]\n"
    "    writes int64 [B,K,T] (1 = generate, 0 = keep) for codes [B,K,T] or [K,T]; onset and beat\n"
    "    masks need --audio; --sample-rate/--hop give the codes' frame rate (44100/768)";

bool flag(const Args& a, const std::string& name) {
  if (!a.has(name)) return false;
  const std::string v = a.str(name, "");
  if (v.empty() || v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  throw Usage("--" + name + " is a flag, got value '" + v + "'");
}

}  // namespace

const std::vector<std::string>& mask_option_names() {
  static const std::vector<std::string> names{
      "seed", "preset", "periodic-prompt", "periodic-width", "random-roll", "no-random-roll",
      "prefix-s", "suffix-s", "rand-mask-intensity", "onset-mask-width",
      "beat-mask-width-ms", "downbeats-only", "dropout", "n-conditioning-codebooks",
      "upper-codebook-mask", "reference"};
  return names;
}

at::Tensor mask_from_args(const Args& a, at::IntArrayRef shape, int sample_rate, int hop,
                          const std::string& audio_path) {
  MaskSettings p = mask_preset("default");
  if (a.has("preset")) {
    try {
      p = mask_preset(a.str("preset"));
    } catch (const std::invalid_argument& e) {
      std::string names;
      for (const auto& n : mask_preset_names()) names += " " + n;
      throw Usage(std::string(e.what()) + "; presets:" + names);
    }
  }
  p.periodic_prompt = a.integer("periodic-prompt", p.periodic_prompt);
  p.periodic_width = a.integer("periodic-width", p.periodic_width);
  if (a.has("random-roll")) p.random_roll = flag(a, "random-roll");
  if (flag(a, "no-random-roll")) p.random_roll = false;
  p.prefix_s = a.number("prefix-s", p.prefix_s);
  p.suffix_s = a.number("suffix-s", p.suffix_s);
  p.rand_mask_intensity = a.number("rand-mask-intensity", p.rand_mask_intensity);
  p.onset_mask_width = a.integer("onset-mask-width", p.onset_mask_width);
  if (a.has("beat-mask-width-ms")) p.beat_mask_width_s = a.number("beat-mask-width-ms", 0) / 1000.;
  if (a.has("downbeats-only")) p.downbeats_only = flag(a, "downbeats-only");
  p.dropout = a.number("dropout", p.dropout);
  p.n_conditioning_codebooks = a.integer("n-conditioning-codebooks", p.n_conditioning_codebooks);
  p.upper_codebook_mask = a.integer("upper-codebook-mask", p.upper_codebook_mask);
  if (a.has("reference")) {
    const std::string r = a.str("reference");
    if (r == "main") p.reference = MaskReference::Main;
    else if (r == "ismir2023" || r == "ismir-2023") p.reference = MaskReference::Ismir2023;
    else throw Usage("--reference expects main or ismir2023, got '" + r + "'");
  }
  if (p.periodic_prompt < 0 || p.periodic_width < 0 || !(p.prefix_s >= 0) ||
      !(p.suffix_s >= 0) || p.onset_mask_width < 0 || !(p.beat_mask_width_s >= 0) ||
      p.n_conditioning_codebooks < 0 || p.upper_codebook_mask < 0)
    throw Usage("mask options must not be negative");
  if (!(p.rand_mask_intensity >= 0 && p.rand_mask_intensity <= 1))
    throw Usage("--rand-mask-intensity must be in [0, 1]");
  if (!(p.dropout >= 0 && p.dropout <= 1)) throw Usage("--dropout must be in [0, 1]");

  mask::MaskContext ctx;
  ctx.sample_rate = sample_rate;
  ctx.hop = hop;
  if (ctx.sample_rate <= 0 || ctx.hop <= 0) throw Usage("--sample-rate and --hop must be > 0");
  if (p.onset_mask_width > 0 || p.beat_mask_width_s > 0) {
    if (audio_path.empty()) throw Usage("onset and beat masks need the audio (--audio A.wav)");
    Audio audio = load_wav(audio_path);
    at::Tensor mono = audio.samples.mean(0).contiguous();
    auto tracker = make_aubio_beat_tracker(audio.sample_rate);
    tracker->push(mono.data_ptr<float>(), size_t(mono.numel()));
    ctx.onsets = seconds_to_frames(tracker->onsets(), ctx.sample_rate, ctx.hop);
    ctx.beats = seconds_to_frames(tracker->beats(), ctx.sample_rate, ctx.hop);
    ctx.downbeats = seconds_to_frames(tracker->downbeats(), ctx.sample_rate, ctx.hop);
    std::cerr << "audio: " << tracker->beats().size() << " beats (" << tracker->bpm() << " BPM), "
              << tracker->downbeats().size() << " downbeats, " << tracker->onsets().size()
              << " onsets\n";
  }
  at::Generator gen = mask::make_generator(uint64_t(a.integer("seed", 0)));
  return mask::build_mask(shape, p, gen, ctx);
}

namespace {

int mask_cmd(const Args& a) {
  std::vector<std::string> known{"codes", "out", "audio", "sample-rate", "hop"};
  known.insert(known.end(), mask_option_names().begin(), mask_option_names().end());
  a.allow(known);
  if (!a.positional().empty()) throw Usage("unexpected argument '" + a.positional()[0] + "'");
  const std::string codes_path = a.str("codes"), out_path = a.str("out");

  at::Tensor codes = load_npy(codes_path);
  if (codes.dim() == 2) codes = codes.unsqueeze(0);
  if (codes.dim() != 3) throw std::runtime_error(codes_path + ": codes must be [B,K,T] or [K,T]");

  at::Tensor m = mask_from_args(a, codes.sizes(), int(a.integer("sample-rate", 44100)),
                                int(a.integer("hop", 768)), a.str("audio", ""));
  save_npy(out_path, m);
  std::cout << "mask [" << m.size(0) << "," << m.size(1) << "," << m.size(2) << "]: "
            << m.sum().item<int64_t>() << " of " << m.numel() << " generated\n";
  return 0;
}

}  // namespace

std::vector<Command> mask_commands() { return {{"mask", kMaskUsage, mask_cmd}}; }

}  // namespace vamp::cli

// mask_settings: the presets and s2t. See mask_settings.h; reference: the ismir-2023 app.py
// (L337-386) and main's Interface.build_mask defaults.
#include "vamp/mask_settings.h"

#include <cmath>
#include <stdexcept>

namespace vamp {

namespace {

struct Preset {
  const char* nick;
  const char* label;  // the ismir-2023 app's
  int64_t periodic_prompt, onset_mask_width;
  double beat_mask_width_s;
  bool downbeats_only;
};

const Preset kIsmirPresets[] = {
    {"unconditional", "unconditional", 0, 0, 0, false},
    {"slight-periodic", "slight periodic variation", 5, 5, 0, false},
    {"moderate-periodic", "moderate periodic variation", 13, 5, 0, false},
    {"strong-periodic", "strong periodic variation", 17, 5, 0, false},
    {"very-strong-periodic", "very strong periodic variation", 21, 5, 0, false},
    {"beat-driven", "beat-driven variation", 0, 0, 0.05, false},
    {"beat-driven-downbeats", "beat-driven variation (downbeats only)", 0, 0, 0.05, true},
    {"beat-driven-downbeats-strong", "beat-driven variation (downbeats only, strong)", 0, 0, 0.02,
     true},
};

// main's Interface.build_mask defaults.
MaskSettings main_defaults() {
  MaskSettings s;
  s.periodic_prompt = 7;
  s.random_roll = true;
  s.upper_codebook_mask = 3;
  s.reference = MaskReference::Main;
  return s;
}

}  // namespace

MaskSettings mask_preset(const std::string& name) {
  if (name == "default") return main_defaults();
  if (name == "compression") {
    // main's "compression prompt": every frame of codebook 0 kept, all the others generated.
    MaskSettings s = main_defaults();
    s.periodic_prompt = 1;
    s.random_roll = false;
    s.upper_codebook_mask = 1;
    return s;
  }
  for (const auto& pr : kIsmirPresets) {
    if (name != pr.nick && name != pr.label) continue;
    MaskSettings s;  // the ismir-2023 app's other UI defaults are vampmask's
    s.random_roll = true;  // that app always rolls the periodic hints
    s.periodic_prompt = pr.periodic_prompt;
    s.onset_mask_width = pr.onset_mask_width;
    s.beat_mask_width_s = pr.beat_mask_width_s;
    s.downbeats_only = pr.downbeats_only;
    return s;
  }
  throw std::invalid_argument("unknown mask preset '" + name + "'");
}

std::vector<std::string> mask_preset_names() {
  std::vector<std::string> names{"default"};
  for (const auto& pr : kIsmirPresets) names.push_back(pr.nick);
  names.push_back("compression");
  return names;
}

int64_t seconds_to_frames(double seconds, int sample_rate, int hop) {
  if (hop <= 0 || sample_rate <= 0) throw std::invalid_argument("sample rate and hop must be > 0");
  return static_cast<int64_t>(std::ceil(seconds * sample_rate / hop));
}

std::vector<int64_t> seconds_to_frames(const std::vector<double>& seconds, int sample_rate, int hop) {
  std::vector<int64_t> out;
  out.reserve(seconds.size());
  for (double s : seconds) out.push_back(seconds_to_frames(s, sample_rate, hop));
  return out;
}

}  // namespace vamp

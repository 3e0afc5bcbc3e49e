// mask_settings: the prompt's controls, one type for the whole-clip builder (mask::build_mask) and
// the streaming one (StreamMasker), the presets, and the one seconds-to-frames rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vamp {

// Which reference app's combination of the mask parts (see mask::build_mask).
enum class MaskReference : int {
  Main,       // vampnet main (72e2675): Interface.build_mask + app.py
  Ismir2023,  // vampnet ismir-2023 (dce1655): app.py _vamp
};

// The mask controls of the reference apps (the ismir-2023 app's UI names). Times are in seconds,
// as the apps take them, and become frames by seconds_to_frames. The defaults are vampmask's; the
// reference's Interface.build_mask defaults are the preset "default".
struct MaskSettings {
  double rand_mask_intensity = 1.0;  // each token generated with this probability (< 1: extra hints)
  double prefix_s = 0.0;             // keep frames [0, s2t(prefix)) (inpainting)
  double suffix_s = 0.0;             // keep the last s2t(suffix) frames (needs the clip's end)
  int64_t periodic_prompt = 3;       // keep every n-th frame (0 = off)
  int64_t periodic_width = 1;        // frames kept around each periodic hint (periodic_mask's w)
  bool random_roll = false;          // shift the periodic hints by r in [0, period)
  int64_t onset_mask_width = 0;      // 0 = off; frames each side of an onset
  double beat_mask_width_s = 0.0;    // 0 = off; keep s2t(width) frames from each beat
  bool downbeats_only = false;       // beat hints on downbeats only
  double dropout = 0.0;              // kept tokens generated instead (per token, or per frame in main)
  int64_t n_conditioning_codebooks = 0;  // codebooks < n always kept
  int64_t upper_codebook_mask = 9;       // codebooks >= n always generated
  MaskReference reference = MaskReference::Ismir2023;  // combination order, dropout semantics
  uint64_t seed = 0;                 // StreamMasker's random parts (build_mask draws from its generator)
};

// "default" (main's Interface.build_mask defaults: period 7 rolled, upper codebook mask 3), the
// ismir-2023 app's presets by vampmask's enum nicks ("unconditional", "slight-periodic",
// "moderate-periodic", "strong-periodic", "very-strong-periodic", "beat-driven",
// "beat-driven-downbeats", "beat-driven-downbeats-strong"; the app's own labels such as
// "slight periodic variation" are accepted too) and "compression" (codebook 0 kept, the rest
// generated). Throws std::invalid_argument on an unknown name.
MaskSettings mask_preset(const std::string& name);
std::vector<std::string> mask_preset_names();  // the nicks, "default" first

// Interface.s2t: ceil(seconds * sample_rate / hop), evaluated in double as the reference does.
int64_t seconds_to_frames(double seconds, int sample_rate, int hop);
std::vector<int64_t> seconds_to_frames(const std::vector<double>& seconds, int sample_rate, int hop);

}  // namespace vamp

// stream_masker: the prompt of a token stream (vampmask): which tokens are kept and which are
// generated, frame range by frame range.
#pragma once

#include "mask_settings.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vamp {

class BeatTracker;

// Reads a beats file: one beat per line, "TIME [LABEL]" with TIME in seconds; the beat is a
// downbeat when LABEL is 1 (the bar position of madmom/mir_eval's "time beat" files) or starts
// with 'd'/'D'. Blank lines and lines starting with '#' are skipped. Throws naming the file.
void read_beats_file(const std::string& path, std::vector<double>& beats,
                     std::vector<double>& downbeats);

// Beats, downbeats and onsets (seconds) of a whole WAV file (mixed to mono), with aubio
// (make_aubio_beat_tracker at the file's rate). Throws naming the file.
void analyse_beats(const std::string& wav_path, std::vector<double>& beats,
                   std::vector<double>& downbeats, std::vector<double>& onsets);

// Builds masks for a token stream frame range by frame range, combined as mask::build_mask
// combines them for the settings' reference app:
//   m = random(intensity) AND inpaint(prefix, suffix) AND periodic(prompt, width, roll)
//   ismir-2023: [OR onset(width)] [AND beat(width)] -> dropout -> keep codebooks < ncc
//               -> generate >= upper
//   main:       [AND onset(width)] -> dropout -> keep codebooks < ncc -> generate >= upper
//               [-> AND beat(width) -> generate >= upper]
// (AND = mask_and, which adds hints; OR = mask_or, which keeps hints only near onsets). Dropout is
// per token in both (main's draws whole frames of the clip, which a stream does not have). Every
// part depends only on the absolute frame index, the codebook and the settings (random draws come
// from a counter-based hash of (seed, frame, codebook)), so a stream cut into buffers of any
// sizes gets the same mask as the whole stream at once. Beats and onsets come from set_beats()
// or push_audio() (the latest wins); with none, beat and onset parts leave the mask unchanged.
// Not thread-safe: one caller at a time.
class StreamMasker {
 public:
  StreamMasker(int codebooks, int sample_rate, int hop, const MaskSettings& settings);
  ~StreamMasker();

  void set(const MaskSettings& settings) { settings_ = settings; }
  const MaskSettings& settings() const { return settings_; }

  // Mask of frames [offset, offset + n): out = [n][codebooks] bytes, 1 = generate, 0 = keep.
  // end_frame: the stream's frame count when known (for the suffix), else -1 (suffix ignored).
  void mask(int64_t offset, size_t n, std::vector<uint8_t>& out, int64_t end_frame = -1) const;

  // Beats, downbeats and onsets in seconds from frame 0 (downbeats may also be listed in beats),
  // e.g. from read_beats_file or analyse_beats.
  void set_beats(const std::vector<double>& beats, const std::vector<double>& downbeats,
                 const std::vector<double>& onsets = {});
  // Live analysis: mono audio at sample_rate from frame 0's time on (aubio beat tracker).
  void push_audio(const float* samples, size_t n);
  double audio_seconds() const;          // audio pushed so far
  double analysis_latency_s() const;     // how far detections lag behind the pushed audio
  size_t beat_count() const { return beats_.size(); }
  size_t onset_count() const { return onsets_.size(); }
  bool has_beat_source() const { return have_beats_; }
  void reset_audio();  // forget pushed audio and its detections (back to set_beats' ones)

 private:
  void refresh_from_tracker();
  void set_beat_frames(const std::vector<double>& beats, const std::vector<double>& downbeats);
  void save_sources();
  int k_, rate_, hop_;
  MaskSettings settings_;
  std::vector<int64_t> beats_, downbeats_, onsets_;  // frame indices, ascending
  bool have_beats_ = false;
  std::vector<int64_t> saved_beats_, saved_downbeats_, saved_onsets_;  // from set_beats
  bool saved_have_beats_ = false;
  std::unique_ptr<BeatTracker> tracker_;
};

}  // namespace vamp

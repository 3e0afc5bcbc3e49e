// beat: beat, downbeat and onset times from audio, for the beat-driven and onset masks.
//
// The reference uses WaveBeat (beats, downbeats) and madmom/librosa (onsets) offline; we track them
// with aubio, hop-synchronously, so a streaming element can push audio as it arrives. Times are
// seconds from the first sample pushed; seconds_to_frames turns them into token frames with
// the reference's ceil rule (Interface.s2t).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace vamp {

class BeatTracker {
 public:
  virtual ~BeatTracker() = default;
  // Feeds mono samples at the tracker's sample rate; any count, any number of calls.
  virtual void push(const float* mono, size_t n) = 0;
  // Everything detected so far, ascending, in seconds. A detection is reported once the tracker has
  // seen enough audio after it (about one analysis window; latency_s()).
  virtual std::vector<double> beats() const = 0;      // all beats, downbeats included
  virtual std::vector<double> downbeats() const = 0;  // the subset of beats() that start a bar
  virtual std::vector<double> onsets() const = 0;
  virtual double bpm() const = 0;        // current tempo estimate (0 before the first estimate)
  virtual double pushed_s() const = 0;   // seconds of audio pushed so far
  virtual double latency_s() const = 0;  // how far detections lag behind the pushed audio
  virtual void reset() = 0;              // forget everything, as if newly created
};

struct BeatTrackerOptions {
  int win_size = 1024;  // analysis window, samples
  int hop_size = 512;   // analysis hop, samples (the tracker processes whole hops)
  std::string tempo_method = "default";  // aubio tempo onset function ("default" = specflux)
  std::string onset_method = "default";  // aubio onset function ("default" = hfc)
  float onset_threshold = 0.0f;          // 0 = aubio's default for the method
  float silence_db = -70.0f;  // detections need sound above this level nearby (beats: 2 s before)
  int beats_per_bar = 4;  // downbeats = every beats_per_bar-th beat, phase chosen by accent
};

// aubio implementation. Beats come from aubio_tempo, onsets from aubio_onset, both fed the same hops.
// Downbeats are estimated: each beat gets an accent (the peak low-band energy, below ~150 Hz, within
// +-35 ms of the beat, where kick drums sit); beats are numbered in the order detected and the bar
// phase (beat index mod beats_per_bar) whose beats have the largest accent sum is the downbeat
// phase. With evenly accented beats (a plain click track) phase 0, the first beat, wins.
std::unique_ptr<BeatTracker> make_aubio_beat_tracker(int sample_rate,
                                                     const BeatTrackerOptions& opt = {});

// Beat-tracking F-measure (mir_eval.beat.f_measure): estimated and reference times matched one to
// one within +-window seconds; F = 2PR / (P + R). Both empty -> 1; only one empty -> 0. Times below
// min_time are ignored in both lists (mir_eval trims the first 5 s by default; pass 0 to keep all).
double beat_f_measure(const std::vector<double>& estimated, const std::vector<double>& reference,
                      double window = 0.07, double min_time = 0.0);

}  // namespace vamp

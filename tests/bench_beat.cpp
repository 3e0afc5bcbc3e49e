// Beat tracker benchmark: F-measure (70 ms window) of the aubio tracker on synthesized click
// tracks and drum patterns at several tempos. Run with `meson test --benchmark beat` (prints a
// table; always exits 0 unless the tracker cannot be created).
#include "vamp/beat.h"
#include "beat_synth.h"

#include <chrono>
#include <cstdio>

using namespace vamp;

int main() {
  constexpr int kSr = 44100;
  constexpr double kSeconds = 30.0;
  std::printf("aubio beat tracker, %g s signals at %d Hz, F-measure window 70 ms\n", kSeconds, kSr);
  std::printf("%-8s %5s %8s %8s %8s %8s %8s %8s\n", "signal", "bpm", "est_bpm", "F(all)",
              "F(>=5s)", "F_down", "F_onset", "x_rt");
  double sum = 0;
  int n = 0;
  for (const char* kind : {"clicks", "drums"}) {
    for (double bpm : {80.0, 100.0, 120.0, 140.0, 170.0}) {
      const auto r = kind[0] == 'c' ? test::click_track(bpm, kSeconds, kSr)
                                    : test::drum_pattern(bpm, kSeconds, kSr);
      auto bt = make_aubio_beat_tracker(kSr);
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t pos = 0; pos < r.audio.size(); pos += 1024)
        bt->push(r.audio.data() + pos, std::min<size_t>(1024, r.audio.size() - pos));
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double f_all = beat_f_measure(bt->beats(), r.beats, 0.07, 0.0);
      const double f5 = beat_f_measure(bt->beats(), r.beats, 0.07, 5.0);
      const double fd = beat_f_measure(bt->downbeats(), r.downbeats, 0.07, 5.0);
      // Onsets against every note (clicks: the beats; drums: beats and the off-beat eighths).
      std::vector<double> notes = r.beats;
      if (kind[0] == 'd')
        for (double b : r.beats) notes.push_back(b + 30.0 / bpm);
      const double fo = beat_f_measure(bt->onsets(), notes, 0.05, 0.0);
      std::printf("%-8s %5.0f %8.1f %8.3f %8.3f %8.3f %8.3f %8.0f\n", kind, bpm, bt->bpm(), f_all,
                  f5, fd, fo, kSeconds / wall);
      sum += f5;
      ++n;
    }
  }
  std::printf("mean F(>=5s) %.3f\n", sum / n);
  return 0;
}

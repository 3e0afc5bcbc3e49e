// Synthetic rhythm signals with known beat times, for the beat tracker's test and benchmark.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace vamp::test {

struct Rhythm {
  std::vector<float> audio;  // mono
  std::vector<double> beats, downbeats;  // seconds
};

inline void add_click(std::vector<float>& y, double t, int sr, float gain) {
  // 10 ms 1.5 kHz tone burst with a fast exponential decay.
  const int64_t s0 = int64_t(std::llround(t * sr)), n = sr / 100;
  for (int64_t i = 0; i < n && s0 + i < int64_t(y.size()); ++i)
    y[size_t(s0 + i)] += gain * float(std::sin(2 * M_PI * 1500.0 * i / sr) * std::exp(-double(i) / (0.002 * sr)));
}

inline void add_kick(std::vector<float>& y, double t, int sr, float gain) {
  const int64_t s0 = int64_t(std::llround(t * sr)), n = int64_t(0.25 * sr);
  double phase = 0;
  for (int64_t i = 0; i < n && s0 + i < int64_t(y.size()); ++i) {
    const double u = double(i) / sr;
    const double f = 50.0 + 100.0 * std::exp(-u / 0.03);  // 150 -> 50 Hz sweep
    phase += 2 * M_PI * f / sr;
    y[size_t(s0 + i)] += gain * float(std::sin(phase) * std::exp(-u / 0.12));
  }
}

inline void add_noise_hit(std::vector<float>& y, double t, int sr, float gain, double decay_s,
                          bool highpass, std::mt19937& rng, double tone_hz = 0) {
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  const int64_t s0 = int64_t(std::llround(t * sr)), n = int64_t(6 * decay_s * sr);
  float prev = 0;
  for (int64_t i = 0; i < n && s0 + i < int64_t(y.size()); ++i) {
    const double u = double(i) / sr;
    float v = uni(rng);
    const float x = highpass ? v - prev : v;  // first difference = crude high-pass
    prev = v;
    double s = x + (tone_hz > 0 ? 0.5 * std::sin(2 * M_PI * tone_hz * u) : 0.0);
    y[size_t(s0 + i)] += gain * float(s * std::exp(-u / decay_s));
  }
}

// A click on every beat (the first of each bar louder), starting at `start` seconds.
inline Rhythm click_track(double bpm, double seconds, int sr, double start = 0.5) {
  Rhythm r;
  r.audio.assign(size_t(seconds * sr), 0.f);
  const double ibi = 60.0 / bpm;
  int k = 0;
  for (double t = start; t < seconds - 0.05; t += ibi, ++k) {
    add_click(r.audio, t, sr, k % 4 == 0 ? 0.8f : 0.5f);
    r.beats.push_back(t);
    if (k % 4 == 0) r.downbeats.push_back(t);
  }
  return r;
}

// A 4/4 rock pattern: kick on 1 and the "and" of 3, snare on 2 and 4, closed hi-hat on eighths.
inline Rhythm drum_pattern(double bpm, double seconds, int sr, double start = 0.5, uint32_t seed = 1) {
  Rhythm r;
  r.audio.assign(size_t(seconds * sr), 0.f);
  std::mt19937 rng(seed);
  const double ibi = 60.0 / bpm;
  int k = 0;
  for (double t = start; t < seconds - 0.05; t += ibi, ++k) {
    const int pos = k % 4;
    r.beats.push_back(t);
    if (pos == 0) {
      r.downbeats.push_back(t);
      add_kick(r.audio, t, sr, 0.8f);
    }
    if (pos == 2) add_kick(r.audio, t + ibi / 2, sr, 0.6f);
    if (pos == 1 || pos == 3) add_noise_hit(r.audio, t, sr, 0.35f, 0.05, false, rng, 190.0);
    add_noise_hit(r.audio, t, sr, 0.12f, 0.01, true, rng);
    add_noise_hit(r.audio, t + ibi / 2, sr, 0.08f, 0.01, true, rng);
  }
  return r;
}

}  // namespace vamp::test

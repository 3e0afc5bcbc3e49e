// beat: aubio-based beat/downbeat/onset tracker. See beat.h.
#include "vamp/beat.h"

#ifdef VAMP_HAVE_AUBIO
#include <aubio/aubio.h>
#endif

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace vamp {

#ifdef VAMP_HAVE_AUBIO
namespace {

class AubioBeatTracker final : public BeatTracker {
 public:
  AubioBeatTracker(int sample_rate, const BeatTrackerOptions& opt) : sr_(sample_rate), opt_(opt) {
    if (sample_rate <= 0) throw std::invalid_argument("beat tracker: sample rate must be > 0");
    if (opt.win_size <= 0 || opt.hop_size <= 0 || opt.hop_size > opt.win_size)
      throw std::invalid_argument("beat tracker: need 0 < hop_size <= win_size");
    if (opt.beats_per_bar < 1) throw std::invalid_argument("beat tracker: beats_per_bar must be >= 1");
    lp_coef_ = float(1.0 - std::exp(-2.0 * M_PI * 150.0 / sample_rate));
    create();
  }
  ~AubioBeatTracker() override { destroy(); }
  AubioBeatTracker(const AubioBeatTracker&) = delete;
  AubioBeatTracker& operator=(const AubioBeatTracker&) = delete;

  void push(const float* mono, size_t n) override {
    const size_t hop = size_t(opt_.hop_size);
    while (n > 0) {
      const size_t take = std::min(n, hop - fill_);
      std::copy(mono, mono + take, in_->data + fill_);
      fill_ += take;
      mono += take;
      n -= take;
      if (fill_ == hop) {
        process_hop();
        fill_ = 0;
      }
    }
  }

  std::vector<double> beats() const override { return beats_; }

  std::vector<double> downbeats() const override {
    const size_t bar = size_t(opt_.beats_per_bar);
    if (beats_.empty()) return {};
    std::vector<double> score(bar, 0.0);
    for (size_t i = 0; i < beats_.size(); ++i) score[i % bar] += accent(beats_[i]);
    const size_t phase = size_t(std::max_element(score.begin(), score.end()) - score.begin());
    std::vector<double> out;
    for (size_t i = phase; i < beats_.size(); i += bar) out.push_back(beats_[i]);
    return out;
  }

  std::vector<double> onsets() const override { return onsets_; }
  double bpm() const override { return bpm_; }
  double pushed_s() const override { return double(hops_ * size_t(opt_.hop_size) + fill_) / sr_; }
  double latency_s() const override { return double(opt_.win_size + opt_.hop_size) / sr_; }

  void reset() override {
    destroy();
    create();
  }

 private:
  void create() {
    const char* tm = opt_.tempo_method.c_str();
    const char* om = opt_.onset_method.c_str();
    tempo_ = new_aubio_tempo(tm, uint_t(opt_.win_size), uint_t(opt_.hop_size), uint_t(sr_));
    onset_ = new_aubio_onset(om, uint_t(opt_.win_size), uint_t(opt_.hop_size), uint_t(sr_));
    in_ = new_fvec(uint_t(opt_.hop_size));
    out_ = new_fvec(1);
    if (!tempo_ || !onset_ || !in_ || !out_) {
      destroy();
      throw std::runtime_error("beat tracker: aubio rejected method '" + opt_.tempo_method + "'/'" +
                               opt_.onset_method + "' or sizes");
    }
    aubio_tempo_set_silence(tempo_, -1000.0f);
    aubio_onset_set_silence(onset_, -1000.0f);
    if (opt_.onset_threshold > 0) aubio_onset_set_threshold(onset_, opt_.onset_threshold);
    fill_ = 0;
    hops_ = 0;
    bpm_ = 0;
    lp1_ = lp2_ = 0;
    dither_ = 1;
    last_tempo_s_ = -1;
    beats_.clear();
    onsets_.clear();
    low_energy_.clear();
    level_db_.clear();
  }

  void destroy() {
    if (tempo_) del_aubio_tempo(tempo_);
    if (onset_) del_aubio_onset(onset_);
    if (in_) del_fvec(in_);
    if (out_) del_fvec(out_);
    tempo_ = nullptr;
    onset_ = nullptr;
    in_ = out_ = nullptr;
  }

  void process_hop() {
    const int hop = opt_.hop_size;
    // Per-hop levels: full band (for the silence gate) and low band below ~150 Hz (two one-pole
    // low-passes, for the downbeat accent).
    double e = 0, le = 0;
    for (int i = 0; i < hop; ++i) {
      const float x = in_->data[i];
      lp1_ += lp_coef_ * (x - lp1_);
      lp2_ += lp_coef_ * (lp1_ - lp2_);
      e += double(x) * x;
      le += double(lp2_) * lp2_;
    }
    level_db_.push_back(float(10 * std::log10(e / hop + 1e-30)));
    low_energy_.push_back(float(le / hop));
    // aubio gates its beat and onset flags on the level of the single hop in which it reports them,
    // which drops most detections of sparse percussive audio (the hop after a click is often
    // digitally silent). So aubio's gates are off, a -120 dBFS deterministic dither keeps it out of
    // log(0), and silence is judged here over a longer context (sounding()).
    for (int i = 0; i < hop; ++i) {
      dither_ = dither_ * 1664525u + 1013904223u;
      in_->data[i] += 1e-6f * (float(dither_ >> 8) / float(1u << 24) - 0.5f);
    }
    ++hops_;
    const double now = double(hops_) * hop / sr_;

    // Beats: aubio updates its last-beat time for every predicted beat (also when it clears the flag).
    aubio_tempo_do(tempo_, in_, out_);
    const double tb = aubio_tempo_get_last_s(tempo_);
    if (tb != last_tempo_s_) {
      last_tempo_s_ = tb;
      if (tb >= 0 && tb <= now + 1.0 && (beats_.empty() || tb > beats_.back() + 0.1) &&
          sounding(tb - 2.0, now))
        beats_.push_back(tb);
    }
    const double bpm = aubio_tempo_get_bpm(tempo_);
    if (bpm > 0) bpm_ = bpm;

    aubio_onset_do(onset_, in_, out_);
    if (out_->data[0] != 0) {
      const double t = aubio_onset_get_last_s(onset_);
      if (t >= 0 && t <= now + 1.0 && (onsets_.empty() || t > onsets_.back()) &&
          sounding(t - 0.05, now))
        onsets_.push_back(t);
    }
  }

  // Whether any hop overlapping [t0, t1] is louder than the silence threshold.
  bool sounding(double t0, double t1) const {
    const double hop_s = double(opt_.hop_size) / sr_;
    const long lo = std::max(0L, long(std::floor(t0 / hop_s)));
    const long hi = std::min(long(level_db_.size()) - 1, long(std::floor(t1 / hop_s)));
    for (long h = lo; h <= hi; ++h)
      if (level_db_[size_t(h)] > opt_.silence_db) return true;
    return false;
  }

  // Peak low-band energy of the hops within +-35 ms of time t.
  double accent(double t) const {
    const double hop_s = double(opt_.hop_size) / sr_;
    const long lo = std::max(0L, long(std::floor((t - 0.035) / hop_s)));
    const long hi = std::min(long(low_energy_.size()) - 1, long(std::floor((t + 0.035) / hop_s)));
    double a = 0;
    for (long h = lo; h <= hi; ++h) a = std::max(a, double(low_energy_[size_t(h)]));
    return a;
  }

  int sr_;
  BeatTrackerOptions opt_;
  aubio_tempo_t* tempo_ = nullptr;
  aubio_onset_t* onset_ = nullptr;
  fvec_t* in_ = nullptr;
  fvec_t* out_ = nullptr;
  size_t fill_ = 0;  // samples waiting in in_ for a full hop
  size_t hops_ = 0;
  double bpm_ = 0;
  float lp_coef_ = 0, lp1_ = 0, lp2_ = 0;
  std::vector<double> beats_, onsets_;
  uint32_t dither_ = 1;
  double last_tempo_s_ = -1;
  std::vector<float> low_energy_;  // per hop
  std::vector<float> level_db_;    // per hop, of the input
};

}  // namespace

std::unique_ptr<BeatTracker> make_aubio_beat_tracker(int sample_rate,
                                                     const BeatTrackerOptions& opt) {
  return std::make_unique<AubioBeatTracker>(sample_rate, opt);
}
#else
std::unique_ptr<BeatTracker> make_aubio_beat_tracker(int, const BeatTrackerOptions&) {
  throw std::runtime_error("beat tracking is unavailable: this build has no aubio (-Daubio)");
}
#endif

double beat_f_measure(const std::vector<double>& estimated, const std::vector<double>& reference,
                      double window, double min_time) {
  std::vector<double> est, ref;
  for (double t : estimated)
    if (t >= min_time) est.push_back(t);
  for (double t : reference)
    if (t >= min_time) ref.push_back(t);
  if (est.empty() && ref.empty()) return 1.0;
  if (est.empty() || ref.empty()) return 0.0;
  std::sort(est.begin(), est.end());
  std::sort(ref.begin(), ref.end());
  // One-to-one matching of points on a line within a window: the greedy left-to-right matching is
  // maximal.
  size_t i = 0, j = 0, hits = 0;
  while (i < est.size() && j < ref.size()) {
    if (std::abs(est[i] - ref[j]) <= window) {
      ++hits, ++i, ++j;
    } else if (est[i] < ref[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  if (hits == 0) return 0.0;
  const double p = double(hits) / est.size(), r = double(hits) / ref.size();
  return 2 * p * r / (p + r);
}

}  // namespace vamp

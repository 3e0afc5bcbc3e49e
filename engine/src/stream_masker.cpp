// stream_masker: stream_masker.h's StreamMasker, the ismir-2023 app's mask combination (mask.h builders)
// evaluated on absolute frame indices so that a stream's mask does not depend on buffer sizes.
#include "vamp/stream_masker.h"

#include "vamp/beat.h"
#include "vamp/mask.h"
#include "vamp/wav.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vamp {

namespace {

const at::TensorOptions kLongOpts = at::TensorOptions().dtype(at::kLong);

// splitmix64's finalizer.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Salts keep the random parts independent of each other.
const uint64_t kSaltRandom = 0x72616e646f6d3031ull;
const uint64_t kSaltDropout = 0x64726f706f757431ull;
const uint64_t kSaltRoll = 0x726f6c6c30303031ull;

// A uniform number in [0, 1) that depends only on (seed, salt, frame, codebook).
double uniform(uint64_t seed, uint64_t salt, int64_t frame, int64_t k) {
  const uint64_t h = mix(mix(seed ^ salt) ^ (uint64_t(frame) * 64u + uint64_t(k)));
  return double(h >> 11) * (1.0 / 9007199254740992.0);
}

// Zeroes frames [a, b) (absolute) of m [1, K, n] starting at absolute frame `offset`.
void keep_frames(at::Tensor& m, int64_t offset, int64_t a, int64_t b) {
  const int64_t n = m.size(2);
  a = std::max(a, offset) - offset;
  b = std::min(b, offset + n) - offset;
  if (b > a) m.narrow(2, a, b - a).zero_();
}

}  // namespace

void read_beats_file(const std::string& path, std::vector<double>& beats,
                     std::vector<double>& downbeats) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open beats file");
  beats.clear();
  downbeats.clear();
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ls(line);
    std::string time_str, label;
    if (!(ls >> time_str) || time_str[0] == '#') continue;
    double t;
    try {
      size_t used = 0;
      t = std::stod(time_str, &used);
      if (used != time_str.size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": expected a time in seconds, got '" +
                               time_str + "'");
    }
    if (!(t >= 0)) throw std::runtime_error(path + ":" + std::to_string(lineno) + ": negative beat time");
    ls >> label;
    beats.push_back(t);
    if (label == "1" || (!label.empty() && std::tolower(static_cast<unsigned char>(label[0])) == 'd'))
      downbeats.push_back(t);
  }
  std::sort(beats.begin(), beats.end());
  std::sort(downbeats.begin(), downbeats.end());
}

StreamMasker::StreamMasker(int codebooks, int sample_rate, int hop, const MaskSettings& settings)
    : k_(codebooks), rate_(sample_rate), hop_(hop), settings_(settings) {
  if (codebooks <= 0 || codebooks > 64 || sample_rate <= 0 || hop <= 0)
    throw std::invalid_argument("StreamMasker: bad codebooks, sample rate or hop");
}

StreamMasker::~StreamMasker() = default;

void StreamMasker::mask(int64_t offset, size_t n_frames, std::vector<uint8_t>& out,
                        int64_t end_frame) const {
  const MaskSettings& s = settings_;
  const int64_t n = int64_t(n_frames);
  out.assign(n_frames * size_t(k_), 1);
  if (n == 0) return;
  if (s.periodic_prompt < 0 || s.periodic_width < 0 || s.onset_mask_width < 0)
    throw std::invalid_argument("StreamMasker: negative period or width");
  const std::vector<int64_t> shape{1, k_, n};

  // linear_random(intensity): generate each token with probability `intensity`.
  at::Tensor m = at::empty(shape, kLongOpts);
  {
    auto a = m.accessor<int64_t, 3>();
    for (int64_t k = 0; k < k_; ++k)
      for (int64_t t = 0; t < n; ++t)
        a[0][k][t] = uniform(s.seed, kSaltRandom, offset + t, k) < s.rand_mask_intensity ? 1 : 0;
  }
  // AND inpaint(prefix, suffix): keep the first / last frames of the stream.
  if (s.prefix_s > 0) keep_frames(m, offset, INT64_MIN / 2, seconds_to_frames(s.prefix_s, rate_, hop_));
  if (s.suffix_s > 0 && end_frame >= 0)
    keep_frames(m, offset, end_frame - seconds_to_frames(s.suffix_s, rate_, hop_), INT64_MAX / 2);
  // AND periodic(prompt, width, roll): the phase comes from the absolute frame index.
  if (s.periodic_prompt > 0) {
    const int64_t roll = s.random_roll ? int64_t(mix(s.seed ^ kSaltRoll) % uint64_t(s.periodic_prompt)) : 0;
    m = mask::mask_and(m, mask::periodic_mask_at(shape, s.periodic_prompt, s.periodic_width, offset - roll));
  }
  const bool ismir = s.reference == MaskReference::Ismir2023;
  // onset(width): ismir-2023 ORs it (hints survive only within width frames of an onset), main
  // ANDs it (hints added there). No onsets known -> unchanged, as in both references.
  if (s.onset_mask_width > 0 && !onsets_.empty()) {
    at::Tensor om = mask::full_mask(shape);
    for (int64_t idx : onsets_) keep_frames(om, offset, idx - s.onset_mask_width, idx + s.onset_mask_width);
    m = ismir ? mask::mask_or(m, om) : mask::mask_and(m, om);
  }
  // AND beat(width): keep s2t(width) frames from each beat (before = 0 as in the apps); main adds
  // these hints after dropout and the codebook masks.
  auto add_beat_hints = [&] {
    if (!(s.beat_mask_width_s > 0 && have_beats_)) return;
    const int64_t after = seconds_to_frames(s.beat_mask_width_s, rate_, hop_);
    at::Tensor bm = mask::full_mask(shape);
    for (int64_t b : s.downbeats_only ? downbeats_ : beats_) keep_frames(bm, offset, b, b + after);
    m = mask::mask_and(m, bm);
  };
  if (ismir) add_beat_hints();
  // dropout: each kept token is generated instead with probability p.
  if (s.dropout > 0) {
    auto a = m.accessor<int64_t, 3>();
    for (int64_t k = 0; k < k_; ++k)
      for (int64_t t = 0; t < n; ++t)
        if (a[0][k][t] == 0 && uniform(s.seed, kSaltDropout, offset + t, k) < s.dropout) a[0][k][t] = 1;
  }
  m = mask::codebook_unmask(m, s.n_conditioning_codebooks);
  m = mask::codebook_mask(m, s.upper_codebook_mask);
  if (!ismir) {
    add_beat_hints();
    m = mask::codebook_mask(m, s.upper_codebook_mask);
  }
  m = m.contiguous();

  auto a = m.accessor<int64_t, 3>();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < k_; ++k) out[size_t(t * k_ + k)] = uint8_t(a[0][k][t]);
}

void StreamMasker::set_beats(const std::vector<double>& beats, const std::vector<double>& downbeats,
                             const std::vector<double>& onsets) {
  set_beat_frames(beats, downbeats);
  onsets_ = seconds_to_frames(onsets, rate_, hop_);
  std::sort(onsets_.begin(), onsets_.end());
  save_sources();
}

void StreamMasker::set_beat_frames(const std::vector<double>& beats, const std::vector<double>& downbeats) {
  beats_ = seconds_to_frames(beats, rate_, hop_);
  downbeats_ = seconds_to_frames(downbeats, rate_, hop_);
  for (int64_t d : downbeats_) beats_.push_back(d);  // downbeats are beats too
  std::sort(beats_.begin(), beats_.end());
  beats_.erase(std::unique(beats_.begin(), beats_.end()), beats_.end());
  std::sort(downbeats_.begin(), downbeats_.end());
  have_beats_ = true;
}

void analyse_beats(const std::string& wav_path, std::vector<double>& beats,
                   std::vector<double>& downbeats, std::vector<double>& onsets) {
  Audio audio = load_wav(wav_path);
  at::Tensor mono = audio.samples.mean(0).contiguous();
  auto tracker = make_aubio_beat_tracker(audio.sample_rate);
  tracker->push(mono.data_ptr<float>(), size_t(mono.numel()));
  beats = tracker->beats();
  downbeats = tracker->downbeats();
  onsets = tracker->onsets();
}

void StreamMasker::push_audio(const float* samples, size_t n) {
  if (!tracker_) tracker_ = make_aubio_beat_tracker(rate_);
  tracker_->push(samples, n);
  refresh_from_tracker();
}

void StreamMasker::refresh_from_tracker() {
  set_beat_frames(tracker_->beats(), tracker_->downbeats());
  onsets_ = seconds_to_frames(tracker_->onsets(), rate_, hop_);
}

double StreamMasker::audio_seconds() const { return tracker_ ? tracker_->pushed_s() : 0.0; }

double StreamMasker::analysis_latency_s() const {
  return tracker_ ? tracker_->latency_s() : make_aubio_beat_tracker(rate_)->latency_s();
}

void StreamMasker::reset_audio() {
  if (!tracker_) return;
  tracker_.reset();
  beats_ = saved_beats_;
  downbeats_ = saved_downbeats_;
  onsets_ = saved_onsets_;
  have_beats_ = saved_have_beats_;
}

void StreamMasker::save_sources() {
  saved_beats_ = beats_;
  saved_downbeats_ = downbeats_;
  saved_onsets_ = onsets_;
  saved_have_beats_ = have_beats_;
}

}  // namespace vamp

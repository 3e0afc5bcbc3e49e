// Beat tracker (aubio): click tracks, streaming invariance, beat mask placement, F-measure.
#include "vamp/beat.h"
#include "beat_synth.h"
#include "vamp/mask.h"
#include "testutil.h"

#include <algorithm>
#include <cmath>

using namespace vamp;

namespace {

constexpr int kSr = 44100, kHop = 768;

std::unique_ptr<BeatTracker> track(const std::vector<float>& y, const std::vector<size_t>& chunks) {
  auto bt = make_aubio_beat_tracker(kSr);
  size_t pos = 0, c = 0;
  while (pos < y.size()) {
    const size_t n = std::min(chunks[c++ % chunks.size()], y.size() - pos);
    bt->push(y.data() + pos, n);
    pos += n;
  }
  return bt;
}

}  // namespace

START_TEST(test_f_measure) {
  ck_assert(beat_f_measure({}, {}) == 1.0);
  ck_assert(beat_f_measure({1.0}, {}) == 0.0);
  ck_assert(beat_f_measure({1.0, 2.0}, {1.05, 2.1}) == 2 * 0.5 * 0.5 / 1.0);
  ck_assert(beat_f_measure({1.0, 1.01, 2.0}, {1.0, 2.0}) == 2 * (2. / 3) * 1.0 / (2. / 3 + 1.0));
  ck_assert(beat_f_measure({1.0, 6.0}, {1.5, 6.0}, 0.07, 5.0) == 1.0);
}
END_TEST

START_TEST(test_click_track_120) {
  const auto r = test::click_track(120, 12.0, kSr);
  auto bt = track(r.audio, {4096});
  const auto beats = bt->beats();
  ck_assert_msg(std::abs(bt->bpm() - 120) < 3, "bpm %g", bt->bpm());
  const double f = beat_f_measure(beats, r.beats, 0.07, 3.0);
  ck_assert_msg(f > 0.95, "F-measure %g after 3 s (%zu beats)", f, beats.size());
  // Downbeats are every 4th beat.
  const auto down = bt->downbeats();
  ck_assert(!down.empty());
  for (size_t i = 1; i < down.size(); ++i) ck_assert(std::abs(down[i] - down[i - 1] - 2.0) < 0.1);
  // Onsets: one per click.
  const double fo = beat_f_measure(bt->onsets(), r.beats, 0.05, 0.0);
  ck_assert_msg(fo > 0.95, "onset F-measure %g", fo);
}
END_TEST

START_TEST(test_streaming_invariance) {
  const auto r = test::drum_pattern(100, 8.0, kSr);
  auto a = track(r.audio, {r.audio.size()});
  auto b = track(r.audio, {1, 7, 513, 100, 4096, 333});
  ck_assert(a->beats() == b->beats());
  ck_assert(a->onsets() == b->onsets());
  ck_assert(a->downbeats() == b->downbeats());
  ck_assert(std::abs(a->pushed_s() - 8.0) < 1e-9 && std::abs(b->pushed_s() - 8.0) < 1e-9);
  // reset() starts over.
  b->reset();
  ck_assert(b->beats().empty() && b->pushed_s() == 0);
  b->push(r.audio.data(), r.audio.size());
  ck_assert(a->beats() == b->beats());
}
END_TEST

START_TEST(test_beat_mask_on_clicks) {
  // Beats -> frames by the ceil rule -> beat mask (50 ms after each beat, as the app's preset);
  // every click after the tracker's warm-up has a kept frame within one frame of the click.
  const double seconds = 10.0;
  const auto r = test::click_track(120, seconds, kSr);
  auto bt = track(r.audio, {1000, 333});
  const int64_t T = seconds_to_frames(seconds, kSr, kHop);
  mask::BeatMaskOptions o;
  o.after_frames = seconds_to_frames(0.05, kSr, kHop);
  at::Generator gen = mask::make_generator(0);
  const at::Tensor m = mask::beat_mask(seconds_to_frames(bt->beats(), kSr, kHop),
                                       seconds_to_frames(bt->downbeats(), kSr, kHop), T, 14, o,
                                       gen);
  ck_assert(m.sizes() == at::IntArrayRef({1, 14, T}));
  auto row = m[0][0];
  int checked = 0;
  for (double t : r.beats) {
    if (t < 3.0 || t > seconds - 0.5) continue;
    const int64_t c = seconds_to_frames(t, kSr, kHop);
    bool kept = false;
    for (int64_t f = std::max<int64_t>(0, c - 1); f <= std::min(T - 1, c + 1); ++f)
      kept = kept || row[f].item<int64_t>() == 0;
    ck_assert_msg(kept, "no kept frame within one frame of the click at %.3f s (frame %lld)", t,
                  (long long)c);
    ++checked;
  }
  ck_assert_int_ge(checked, 12);
  // And every kept region lies on the click grid (the tracker may continue the grid past the last
  // click, as a beat tracker should): the frames after each beat are kept, so measure from the
  // first frame of each kept run.
  const double ibi = 0.5, first = r.beats.front();
  for (int64_t f = 0; f < T; ++f) {
    if (row[f].item<int64_t>() != 0 || (f > 0 && row[f - 1].item<int64_t>() == 0)) continue;
    const double t = f * double(kHop) / kSr;
    const double k = std::max(0.0, std::round((t - first) / ibi));
    const double off = std::abs(t - (first + k * ibi));
    ck_assert_msg(off <= 2.0 * kHop / kSr, "kept run at frame %lld is %.3f s off the click grid",
                  (long long)f, off);
  }
}
END_TEST

static Suite* beat_suite() {
  Suite* s = suite_create("beat");
  TCase* tc = tcase_create("aubio");
  tcase_add_test(tc, test_f_measure);
  tcase_add_test(tc, test_click_track_120);
  tcase_add_test(tc, test_streaming_invariance);
  tcase_add_test(tc, test_beat_mask_on_clicks);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(beat_suite)

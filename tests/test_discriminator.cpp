// The codec's discriminators (engine/train/discriminator.h): every parameter learns from the
// discriminator loss; the generator's losses reach the audio and only the audio; the audio
// gradient is the finite-difference one; feature matching of identical audio is 0; a short fit
// tells tones from noise; the checkpoint and the optimizer state round-trip.
#include "vamp/checkpoint.h"
#include "train/discriminator.h"
#include "train/optim.h"
#include "testutil.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>

using vamp::test::scratch;
using vamp::train::Discriminator;
using vamp::train::DiscriminatorConfig;
using vamp::train::Judgement;

namespace {

// One sine tone per row, 0.5 amplitude, frequencies 200..2000 Hz drawn from gen.
at::Tensor tones(int64_t batch, int64_t n, at::Generator& gen, at::ScalarType dtype = at::kFloat) {
  const at::Tensor t = at::arange(n, at::TensorOptions().dtype(at::kDouble)).div_(44100.0);
  const at::Tensor f = at::empty({batch, 1, 1}, at::kDouble).uniform_(200.0, 2000.0, gen);
  const at::Tensor phase = at::empty({batch, 1, 1}, at::kDouble).uniform_(0.0, 2 * M_PI, gen);
  return (0.5 * at::sin(t.view({1, 1, n}) * f * (2 * M_PI) + phase)).to(dtype);
}

at::Tensor noise(int64_t batch, int64_t n, at::Generator& gen, at::ScalarType dtype = at::kFloat) {
  return (at::randn({batch, 1, n}, gen, at::TensorOptions().dtype(at::kDouble)) * 0.2).to(dtype);
}

// A few channels per layer, short windows: cheap enough for double precision and finite differences.
DiscriminatorConfig tiny() {
  DiscriminatorConfig c;
  c.periods = {2, 3};
  c.mpd_channels = {3, 4, 4};
  c.stft_windows = {64, 32};
  c.mrd_channels = 3;
  c.mrd_strided = 2;
  return c;
}

double mean_logit(const Judgement& j) { return j.logits.mean().item<double>(); }

START_TEST(test_discriminator_loss_reaches_every_parameter) {
  at::set_num_threads(2);
  const DiscriminatorConfig cfg;  // the default one
  const vamp::Checkpoint ck = vamp::train::random_discriminator_checkpoint(cfg, 1);
  ck_assert(ck.has("mpd.2.convs.0.weight_v") && ck.has("mpd.11.conv_post.weight_g") &&
            ck.has("mrd.1024.convs.0.weight_v") && ck.has("mrd.512.conv_post.bias"));
  vamp::train::Params params(ck, at::kCPU);
  const Discriminator d(params, cfg);
  ck_assert_int_eq(int(d.size()), 8);
  ck_assert_str_eq(d.name(0).c_str(), "mpd.2");
  ck_assert_str_eq(d.name(7).c_str(), "mrd.512");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const at::Tensor real = tones(2, 4096, gen), fake = noise(2, 4096, gen);
  vamp::train::discriminator_loss(d(real), d(fake)).backward();
  int checked = 0;
  for (const auto& [key, unused] : ck.tensors) {
    const at::Tensor& g = params[key].grad();
    ck_assert_msg(g.defined(), "no gradient for %s", key.c_str());
    ck_assert_msg(at::isfinite(g).all().item<bool>(), "non-finite gradient for %s", key.c_str());
    ck_assert_msg(g.abs().sum().item<double>() > 0, "zero gradient for %s", key.c_str());
    ++checked;
  }
  ck_assert_int_eq(checked, int(ck.tensors.size()));
  ck_assert_int_eq(checked, 3 * (5 * (5 + 1) + 3 * (3 + 2)));  // (w_g, w_v, b) per conv
}
END_TEST

START_TEST(test_generator_losses_reach_the_audio_only) {
  at::set_num_threads(2);
  const DiscriminatorConfig cfg;
  vamp::train::Params params(vamp::train::random_discriminator_checkpoint(cfg, 2), at::kCPU);
  const Discriminator d(params, cfg);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const at::Tensor real = tones(2, 4096, gen), start = noise(2, 4096, gen);
  auto check_audio_only = [&](bool features) {
    const at::Tensor fake = start.clone().requires_grad_();
    const auto judged = d(fake, /*train_weights=*/false);
    at::Tensor loss;
    if (features) {
      std::vector<Judgement> ref;
      {
        at::NoGradGuard no_grad;
        ref = d(real, false);
      }
      loss = vamp::train::feature_matching_loss(ref, judged);
    } else {
      loss = vamp::train::generator_loss(judged);
    }
    ck_assert_msg(loss.item<double>() > 0, "loss %g", loss.item<double>());
    loss.backward();
    ck_assert(fake.grad().defined());
    ck_assert_msg(at::isfinite(fake.grad()).all().item<bool>(), "non-finite audio gradient");
    ck_assert_msg(fake.grad().abs().max().item<double>() > 0, "zero audio gradient");
    for (const auto& p : params.trainable()) ck_assert_msg(!p.grad().defined(), "a parameter got a gradient");
  };
  check_audio_only(false);
  check_audio_only(true);
  // Fixed weights give the same verdict as trainable ones, and trainable ones do get gradients.
  const at::Tensor fake = start.clone().requires_grad_();
  const auto fixed = d(fake, false), trained = d(fake, true);
  for (size_t k = 0; k < fixed.size(); ++k) VAMP_ASSERT_EQUAL(fixed[k].logits == trained[k].logits,
                                                              at::ones_like(fixed[k].logits, at::kBool));
  vamp::train::generator_loss(trained).backward();
  ck_assert(params["mrd.2048.convs.0.weight_v"].grad().defined());
  ck_assert(params["mpd.5.conv_post.bias"].grad().defined());
}
END_TEST

START_TEST(test_audio_gradient_matches_finite_differences) {
  // Generator loss plus feature matching, in double precision on a tiny config: the analytic
  // gradient at a few coordinates (the largest and some spread over the signal) against central
  // differences.
  at::set_num_threads(2);
  const DiscriminatorConfig cfg = tiny();
  vamp::train::Params params(vamp::train::random_discriminator_checkpoint(cfg, 5), at::kCPU);
  const Discriminator d(params, cfg);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(6);
  const int64_t n = 300;
  const at::Tensor real = tones(1, n, gen, at::kDouble), x0 = noise(1, n, gen, at::kDouble) + tones(1, n, gen, at::kDouble);
  std::vector<Judgement> ref;
  {
    at::NoGradGuard no_grad;
    ref = d(real, false);
  }
  auto loss_at = [&](const at::Tensor& x) {
    const auto judged = d(x, false);
    return vamp::train::generator_loss(judged) + vamp::train::feature_matching_loss(ref, judged);
  };
  const at::Tensor x = x0.clone().requires_grad_();
  const at::Tensor loss = loss_at(x);
  ck_assert(loss.scalar_type() == at::kDouble);
  loss.backward();
  const at::Tensor g = x.grad().flatten();
  std::vector<int64_t> coords = {0, 37, 150, 211, n - 1};
  const at::Tensor top = std::get<1>(g.abs().topk(3));
  for (int64_t i = 0; i < 3; ++i) coords.push_back(top[i].item<int64_t>());
  at::NoGradGuard no_grad;
  const double h = 1e-6;
  for (int64_t c : coords) {
    at::Tensor up = x0.clone(), down = x0.clone();
    up.view({-1})[c] += h;
    down.view({-1})[c] -= h;
    const double fd = (loss_at(up).item<double>() - loss_at(down).item<double>()) / (2 * h);
    const double an = g[c].item<double>();
    const double rel = std::abs(fd - an) / std::max(std::abs(fd), std::abs(an));
    ck_assert_msg(rel < 1e-3, "coordinate %lld: analytic %.9g, finite difference %.9g (relative error %g)",
                  (long long)c, an, fd, rel);
  }
}
END_TEST

START_TEST(test_feature_matching_is_zero_for_identical_audio) {
  at::set_num_threads(2);
  const DiscriminatorConfig cfg;
  vamp::train::Params params(vamp::train::random_discriminator_checkpoint(cfg, 7), at::kCPU);
  const Discriminator d(params, cfg);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(8);
  const at::Tensor x = tones(2, 4096, gen), y = x + noise(2, 4096, gen) * 0.05;
  at::NoGradGuard no_grad;
  const auto jx = d(x), jy = d(y);
  for (auto scale : {vamp::train::FeatureScale::Sum, vamp::train::FeatureScale::Relative}) {
    ck_assert(vamp::train::feature_matching_loss(jx, d(x.clone()), scale).item<double>() == 0.0);
    const double differ = vamp::train::feature_matching_loss(jx, jy, scale).item<double>();
    ck_assert_msg(differ > 0 && std::isfinite(differ), "feature matching of different audio %g", differ);
  }
  // 37 terms: 5 periods x 5 layers + 3 resolutions x 4 layers.
  size_t terms = 0;
  for (const auto& j : jx) terms += j.features.size();
  ck_assert_int_eq(int(terms), 37);
}
END_TEST

START_TEST(test_discriminator_learns_tones_from_noise) {
  // LSGAN targets 1 for real and 0 for fake: a few dozen AdamW steps on tones against white noise
  // move every sub-discriminator's mean verdict (about 0 for both at the start) most of the way
  // there, also on tones and noise it has not seen.
  at::set_num_threads(2);
  const DiscriminatorConfig cfg;
  vamp::train::Params params(vamp::train::random_discriminator_checkpoint(cfg, 9), at::kCPU);
  const Discriminator d(params, cfg);
  vamp::train::AdamW adam(params.trainable(), 0.8, 0.99);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(10);
  const int64_t n = 2048;
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    const at::Tensor real = tones(4, n, gen), fake = noise(4, n, gen);
    adam.zero_grad();
    const at::Tensor loss = vamp::train::discriminator_loss(d(real), d(fake));
    loss.backward();
    adam.step(2e-3, 10.0);
    (step == 0 ? first : last) = loss.item<double>();
  }
  ck_assert_msg(last < 0.1 * first, "discriminator loss %g -> %g", first, last);
  at::NoGradGuard no_grad;
  const auto real = d(tones(8, n, gen)), fake = d(noise(8, n, gen));
  for (size_t k = 0; k < d.size(); ++k) {
    const double r = mean_logit(real[k]), f = mean_logit(fake[k]);
    ck_assert_msg(r > 0.7 && f < 0.3, "%s: D(real) %g, D(fake) %g after 40 steps", d.name(k).c_str(), r, f);
  }
}
END_TEST

START_TEST(test_checkpoint_round_trip) {
  at::set_num_threads(2);
  DiscriminatorConfig cfg = tiny();
  cfg.mpd_channels = {4, 8, 8, 16};
  const vamp::Checkpoint ck = vamp::train::random_discriminator_checkpoint(cfg, 11);
  // Deterministic: the same seed gives the same tensors, another seed others.
  const vamp::Checkpoint same = vamp::train::random_discriminator_checkpoint(cfg, 11);
  const vamp::Checkpoint other = vamp::train::random_discriminator_checkpoint(cfg, 12);
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    ck_assert(at::equal(ck.tensors[i].second, same.tensors[i].second));
    if (ck.tensors[i].first.find("weight_v") != std::string::npos)
      ck_assert(!at::equal(ck.tensors[i].second, other.tensors[i].second));
  }

  // A few AdamW steps, saved as <codec>.disc with its optimizer state, restored into a fresh copy.
  vamp::train::Params params(ck, at::kCPU);
  const Discriminator d(params, cfg);
  vamp::train::AdamW adam(params.trainable(), 0.8, 0.99);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(13);
  const at::Tensor real = tones(2, 1000, gen), fake = noise(2, 1000, gen);
  for (int i = 0; i < 3; ++i) {
    adam.zero_grad();
    vamp::train::discriminator_loss(d(real), d(fake)).backward();
    adam.step(1e-3, 10.0);
  }
  const std::string path = scratch("test_codec.pth.disc");
  vamp::train::save_training_state(path, params, adam, 4.5);

  const vamp::Checkpoint loaded = vamp::load_checkpoint(path);
  ck_assert(vamp::train::discriminator_config(loaded) == cfg);
  ck_assert_int_eq(int(loaded.tensors.size()), int(ck.tensors.size()));
  for (const auto& [key, t] : loaded.tensors) VAMP_ASSERT_EQUAL(t == params[key].detach(), at::ones_like(t, at::kBool));

  vamp::train::Params again(vamp::train::random_discriminator_checkpoint(vamp::train::discriminator_config(loaded), 99), at::kCPU);
  vamp::train::AdamW adam2(again.trainable(), 0.8, 0.99);
  double seconds = 0;
  ck_assert(vamp::train::load_training_state(path, again, adam2, &seconds));
  ck_assert_int_eq(int(adam2.steps()), 3);
  ck_assert(seconds == 4.5);
  const Discriminator d2(again, vamp::train::discriminator_config(loaded));
  at::NoGradGuard no_grad;
  const auto a = d(fake), b = d2(fake);
  for (size_t k = 0; k < a.size(); ++k) VAMP_ASSERT_EQUAL(a[k].logits == b[k].logits, at::ones_like(a[k].logits, at::kBool));

  // A config that does not fit the tensors, or a file that is no discriminator, is an error.
  DiscriminatorConfig wider = cfg;
  wider.mrd_channels = 4;
  bool threw = false;
  try {
    Discriminator(again, wider);
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("mrd.64.convs.0") != std::string::npos;
  }
  ck_assert_msg(threw, "a wrong config was accepted");
  threw = false;
  try {
    vamp::train::discriminator_config(vamp::load_checkpoint(path + ".state"));
  } catch (const vamp::CheckpointError&) {
    threw = true;
  }
  ck_assert(threw);
}
END_TEST

}  // namespace

static Suite* discriminator_suite() {
  Suite* s = suite_create("discriminator");
  TCase* tc = tcase_create("discriminator");
  tcase_add_test(tc, test_discriminator_loss_reaches_every_parameter);
  tcase_add_test(tc, test_generator_losses_reach_the_audio_only);
  tcase_add_test(tc, test_audio_gradient_matches_finite_differences);
  tcase_add_test(tc, test_feature_matching_is_zero_for_identical_audio);
  tcase_add_test(tc, test_discriminator_learns_tones_from_noise);
  tcase_add_test(tc, test_checkpoint_round_trip);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(discriminator_suite)

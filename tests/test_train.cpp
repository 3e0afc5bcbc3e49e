// Training: the differentiable codec and transformer compute what the inference engine computes
// from the saved file; a few steps lower the loss; runs resume where they stopped; the saved
// files load as released-layout checkpoints.
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "train/codec_net.h"
#include "train/dataset.h"
#include "train/evaluate.h"
#include "train/optim.h"
#include "train/train.h"
#include "train/transformer_net.h"
#include "vamp/transformer.h"
#include "testutil.h"
#include "vamp/wav.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <filesystem>

using vamp::test::scratch;

namespace {

vamp::CodecConfig small_codec() {
  vamp::CodecConfig c = vamp::codec_preset("tiny");
  c.n_codebooks = 6;
  c.latent_dim = 0;
  return c;
}

// Two seconds of a plucked two-note figure: something with pitch and attacks to reconstruct.
at::Tensor plucks(int64_t batch, int64_t n) {
  at::Tensor t = at::arange(n, at::kFloat).div_(44100.0);
  at::Tensor x = at::zeros({batch, 1, n});
  for (int64_t b = 0; b < batch; ++b) {
    const double f = 220.0 * (1 + b);
    x[b][0] = 0.4 * at::sin(t * (2 * M_PI * f)) * at::exp(-(at::fmod(t, 0.25)) * 12.0);
  }
  return x;
}

// `steps` AdamW steps (learning rate 2e-3) on loss(); the loss before and after.
template <typename Loss>
std::pair<double, double> descend(vamp::train::AdamW& adam, Loss&& loss, int steps) {
  const double first = loss().template item<double>();
  for (int i = 0; i < steps; ++i) {
    adam.zero_grad();
    loss().backward();
    adam.step(2e-3, 1.0);
  }
  return {first, loss().template item<double>()};
}

START_TEST(test_codec_net_equals_inference_codec) {
  at::set_num_threads(2);
  const auto ck = vamp::random_codec_checkpoint(small_codec(), 3);
  vamp::train::Params params(ck, at::kCPU);
  auto cfg = vamp::Codec::from_checkpoint(ck)->config();
  vamp::train::CodecNet net(params, cfg);
  const at::Tensor x = plucks(2, 768 * 12);
  at::Tensor y, codes;
  {
    at::NoGradGuard no_grad;
    auto out = net.forward(x);
    y = out.audio;
    codes = out.codes;
  }
  auto codec = vamp::Codec::from_checkpoint(params.checkpoint());
  VAMP_ASSERT_EQUAL(codes, codec->encode(x));
  VAMP_ASSERT_CLOSE(y, codec->decode(codes), 1e-5);
}
END_TEST

START_TEST(test_fused_snake_matches_torch_ops) {
  // The fused CPU Snake against the reference's five ops: values and both gradients, including
  // a row where alpha x leaves the polynomial's range (the libm path).
  at::manual_seed(8);
  const at::Tensor x0 = at::randn({3, 5, 700}) * 3.0;
  x0[1][2].narrow(0, 0, 10).fill_(9000.0);
  const at::Tensor a0 = at::rand({1, 5, 1}) * 2.0 + 0.2, g = at::randn({3, 5, 700});
  auto run = [&](bool fused) {
    const at::Tensor x = x0.clone().requires_grad_(), a = a0.clone().requires_grad_();
    const at::Tensor y = fused ? vamp::train::snake(x, a) : x + (a + 1e-9).reciprocal() * at::sin(a * x).pow(2);
    y.backward(g);
    return std::vector<at::Tensor>{y.detach(), x.grad(), a.grad()};
  };
  const auto fused = run(true), ops = run(false);
  VAMP_ASSERT_CLOSE(fused[0], ops[0], 1e-4);
  VAMP_ASSERT_CLOSE(fused[1], ops[1], 1e-4);
  VAMP_ASSERT_CLOSE(fused[2], ops[2], 1e-4 * ops[2].abs().max().item<double>());  // sums of 2100 terms
}
END_TEST

START_TEST(test_transformer_net_equals_inference_transformer) {
  at::set_num_threads(2);
  auto cfg = vamp::TransformerConfig::preset("tiny-c2f");
  cfg.n_codebooks = 6;
  cfg.n_conditioning_codebooks = 2;
  const auto codec_ck = vamp::random_codec_checkpoint(small_codec(), 3);
  auto codec = vamp::Codec::from_checkpoint(codec_ck);
  std::vector<at::Tensor> books;
  for (int i = 0; i < 6; ++i) books.push_back(codec->codebook(i));
  const auto ck = vamp::random_transformer_checkpoint(cfg, 5, /*with_lora=*/false);
  vamp::train::Params params(ck, at::kCPU);
  vamp::train::TransformerNet net(params, cfg, books);
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(9);
  at::Tensor z = at::randint(0, cfg.vocab_size + 1, {2, 6, 50}, g, at::kLong);
  at::Tensor logits;
  {
    at::NoGradGuard no_grad;
    logits = net.forward(z, 0.0);
  }
  auto model = vamp::Transformer::from_checkpoint(params.checkpoint(), books);
  VAMP_ASSERT_CLOSE(logits, model->token_logits(z), 1e-4);
  // Mixed precision (bf16 products) stays near: the same argmax almost everywhere.
  vamp::train::TransformerNet net16(params, cfg, books, /*bf16=*/true);
  at::NoGradGuard no_grad;
  const double agree = (net16.forward(z, 0.0).argmax(-1) == logits.argmax(-1)).to(at::kFloat).mean().item<double>();
  ck_assert_msg(agree > 0.95, "bf16 argmax agreement %g", agree);
}
END_TEST

START_TEST(test_codec_training_lowers_loss_and_resumes) {
  at::set_num_threads(2);
  at::manual_seed(0);
  const auto ck = vamp::random_codec_checkpoint(small_codec(), 4);
  vamp::train::Params params(ck, at::kCPU);
  vamp::train::CodecNet net(params, vamp::Codec::from_checkpoint(ck)->config());
  vamp::train::MelLoss mel(44100, at::kCPU);
  vamp::train::AdamW adam(params.trainable(), 0.8, 0.99);
  const at::Tensor x = plucks(2, 768 * 8);
  auto loss_now = [&] {
    auto out = net.forward(x);
    return 15.0 * mel(out.audio, x) + 0.25 * out.commitment_loss + out.codebook_loss;
  };
  const auto [first, after] = descend(adam, loss_now, 12);
  ck_assert_msg(after < 0.9 * first, "loss %g -> %g after 12 steps", first, after);

  // The saved pair restores the same parameters and optimizer step count.
  const std::string path = scratch("train_codec.pth");
  vamp::train::save_training_state(path, params, adam, 12.5);
  vamp::train::Params again(ck, at::kCPU);
  vamp::train::AdamW adam2(again.trainable(), 0.8, 0.99);
  double seconds = 0;
  ck_assert(vamp::train::load_training_state(path, again, adam2, &seconds));
  ck_assert_int_eq(adam2.steps(), 12);
  ck_assert(seconds == 12.5);
  VAMP_ASSERT_EQUAL(again["decoder.model.0.weight_v"] == params["decoder.model.0.weight_v"],
                    at::ones_like(params["decoder.model.0.weight_v"], at::kBool));
  // And the model file is a released-layout codec.
  ck_assert_int_eq(vamp::Codec::load(path)->config().n_codebooks, 6);
}
END_TEST

// --decoder-only: the decoder learns, the encoder and codebooks stay bit for bit, so the codes of
// any audio (and every transformer trained on them) stay valid.
START_TEST(test_decoder_only_training_keeps_the_codes) {
  at::set_num_threads(2);
  at::manual_seed(0);
  const auto ck = vamp::random_codec_checkpoint(small_codec(), 5);
  vamp::train::Params params(ck, at::kCPU);
  params.freeze_all_but({"decoder."});
  const auto trainable = params.trainable();
  ck_assert_int_lt(int(trainable.size()), int(ck.tensors.size()));
  for (const auto& t : trainable) ck_assert(t.requires_grad());
  vamp::train::CodecNet net(params, vamp::Codec::from_checkpoint(ck)->config());
  vamp::train::MelLoss mel(44100, at::kCPU);
  vamp::train::AdamW adam(trainable, 0.8, 0.99);
  const at::Tensor x = plucks(2, 768 * 8);
  auto loss_now = [&] { return mel(net.forward(x).audio, x); };
  const auto [first, after] = descend(adam, loss_now, 8);
  ck_assert_msg(after < first, "decoder-only mel loss %g -> %g", first, after);
  const auto before = vamp::Codec::from_checkpoint(ck), trained = vamp::Codec::from_checkpoint(params.checkpoint());
  VAMP_ASSERT_EQUAL(trained->encode(x), before->encode(x));
  ck_assert(!at::equal(trained->decode(before->encode(x)), before->decode(before->encode(x))));

  // Appended RVQ stages: the first stages' codes stay; asking for fewer stages is an error.
  const auto grown = vamp::Codec::from_checkpoint(vamp::train::with_codebooks(ck, 8, 9));
  ck_assert_int_eq(grown->config().n_codebooks, 8);
  VAMP_ASSERT_EQUAL(grown->encode(x).narrow(1, 0, 6), before->encode(x));
  bool threw = false;
  try {
    vamp::train::with_codebooks(ck, 4, 9);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  ck_assert(threw);
}
END_TEST

// A LAC codec's decoder replaced by a fresh inverse-STFT one (with_decoder): the codes stay, the
// differentiable decoder computes what the inference codec computes, and it learns.
START_TEST(test_istft_decoder_swap_trains) {
  at::set_num_threads(2);
  at::manual_seed(0);
  const auto lac = vamp::random_codec_checkpoint(small_codec(), 6);
  vamp::CodecConfig shape = small_codec();
  shape.decoder = "istft";
  shape.decoder_dim = 32;
  shape.decoder_layers = 2;
  shape.n_fft = 1024;
  shape.istft_hop = 256;
  const auto ck = vamp::train::with_decoder(lac, shape, 7);
  ck_assert(!ck.has("decoder.model.0.weight_v"));
  const auto before = vamp::Codec::from_checkpoint(ck);
  ck_assert_str_eq(before->config().decoder.c_str(), "istft");
  const at::Tensor x = plucks(2, 768 * 8);
  VAMP_ASSERT_EQUAL(before->encode(x), vamp::Codec::from_checkpoint(lac)->encode(x));

  vamp::train::Params params(ck, at::kCPU);
  params.freeze_all_but({"decoder."});
  vamp::train::CodecNet net(params, before->config());
  {
    at::NoGradGuard no_grad;
    VAMP_ASSERT_CLOSE(net.forward(x).audio, before->decode(before->encode(x)), 1e-5);
  }
  const auto metric = vamp::train::metric_mel_loss(44100, at::kCPU);
  vamp::train::AdamW adam(params.trainable(), 0.8, 0.99);
  auto loss_now = [&] { return metric(net.forward(x).audio, x); };
  const auto [first, after] = descend(adam, loss_now, 15);
  ck_assert_msg(after < 0.8 * first, "istft decoder: log-mel distance %g -> %g after 15 steps", first, after);
  VAMP_ASSERT_EQUAL(vamp::Codec::from_checkpoint(params.checkpoint())->encode(x), before->encode(x));
}
END_TEST

// An iSTFT decoder shortened to its first blocks (with_decoder_layers): the kept blocks and the rest
// of the codec are the trained ones, the codes stay, and blocks cannot be added this way.
START_TEST(test_istft_decoder_shortens) {
  vamp::CodecConfig shape = small_codec();
  shape.decoder = "istft";
  shape.decoder_dim = 32;
  shape.decoder_layers = 3;
  shape.n_fft = 1024;
  shape.istft_hop = 256;
  const auto ck = vamp::train::with_decoder(vamp::random_codec_checkpoint(small_codec(), 6), shape, 7);
  const auto short_ = vamp::train::with_decoder_layers(ck, 2, 7);
  ck_assert_int_eq(vamp::Codec::from_checkpoint(short_)->config().decoder_layers, 2);
  ck_assert(!short_.has("decoder.blocks.2.gamma"));
  for (const auto& [key, t] : short_.tensors) VAMP_ASSERT_EQUAL(t, ck.at(key));
  const at::Tensor x = plucks(1, 768 * 4);
  VAMP_ASSERT_EQUAL(vamp::Codec::from_checkpoint(short_)->encode(x), vamp::Codec::from_checkpoint(ck)->encode(x));
  bool threw = false;
  try {
    vamp::train::with_decoder_layers(ck, 3, 7);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  ck_assert(threw);
}
END_TEST

// vamp-train codec end to end: an iSTFT-decoder codec trained adversarially for a few steps on a
// folder of WAVs saves the codec and its discriminators, and a longer run resumes both.
START_TEST(test_adversarial_run_saves_and_resumes) {
  at::set_num_threads(2);
  const std::string dir = scratch("adv_data");
  std::filesystem::create_directories(dir);
  vamp::save_wav(dir + "/plucks.wav", {plucks(1, 44100 * 2).view({1, -1}), 44100});
  vamp::train::CodecTrainOptions o;
  o.data = dir;
  o.out = scratch("adv_codec.pth");
  for (const char* tail : {"", ".state", ".disc", ".disc.state", ".log.csv"}) std::remove((o.out + tail).c_str());
  o.config = small_codec();
  o.config.decoder = "istft";
  o.config.decoder_dim = 32;
  o.config.decoder_layers = 1;
  o.config.n_fft = 1024;
  o.config.istft_hop = 256;
  o.batch = 2;
  o.crop_seconds = 0.2;
  o.steps = 2;
  o.save_every = 1;
  o.adversarial = true;
  vamp::train::train_codec(o);
  for (const char* tail : {"", ".state", ".disc", ".disc.state"})
    ck_assert_msg(std::filesystem::exists(o.out + tail), "%s%s missing", o.out.c_str(), tail);
  const auto trained = vamp::Codec::load(o.out);
  ck_assert_str_eq(trained->config().decoder.c_str(), "istft");

  o.steps = 3;  // resumes at step 2: the codec's and the discriminators' optimizers both continue
  vamp::train::train_codec(o);
  vamp::train::Params d(vamp::load_checkpoint(o.out + ".disc"), at::kCPU);
  vamp::train::AdamW dadam(d.trainable());
  ck_assert(vamp::train::load_training_state(o.out + ".disc", d, dadam));
  ck_assert_int_eq(dadam.steps(), 3);
}
END_TEST

// The pitch-resolving STFT loss: 0 for identical audio; for noise against 10x the noise, one
// decade per bin at each of the two windows; and it sees a semitone that mel bands hardly see.
START_TEST(test_log_stft_loss) {
  at::manual_seed(3);
  const at::Tensor noise = at::randn({1, 1, 44100}).mul_(0.1);
  ck_assert(vamp::train::log_stft_loss(noise, noise).item<double>() == 0.0);
  const double decade = vamp::train::log_stft_loss(noise * 10.0, noise).item<double>();
  ck_assert_msg(std::abs(decade - 2.0) < 1e-3, "10x louder noise: %g", decade);
  const at::Tensor t = at::arange(44100, at::kFloat).div_(44100.0).view({1, 1, -1});
  const at::Tensor a = at::sin(t * (2 * M_PI * 220.0)) * 0.3;
  // A semitone off at 220 Hz: the 4096-point bins (10.8 Hz) see it, the 80 mel bands of the
  // log-mel distance (about 30 Hz wide there) barely.
  const at::Tensor detuned = at::sin(t * (2 * M_PI * 233.08)) * 0.3;
  const double by_stft = vamp::train::log_stft_loss(detuned, a).item<double>() / 2.0;  // per window
  const double by_mel = vamp::train::metric_mel_loss(44100, at::kCPU)(detuned, a).item<double>() / 3.0;  // per scale
  std::printf("a semitone off: log-STFT %g, log-mel %g per scale\n", by_stft, by_mel);
  ck_assert_msg(by_stft > 1.5 * by_mel, "a semitone off: log-STFT %g, log-mel %g per scale", by_stft, by_mel);
}
END_TEST

// The level loss prices loudness in units of 10 dB: 3 dB quiet costs 0.3 whatever the signal, and
// the same power with other content (a different noise) costs little.
START_TEST(test_level_loss) {
  at::manual_seed(4);
  const at::Tensor noise = at::randn({2, 1, 44100}).mul_(0.1);
  const double quiet = vamp::train::level_loss(noise * std::pow(10.0, -3.0 / 20), noise).item<double>();
  ck_assert_msg(std::abs(quiet - 0.3) < 1e-4, "3 dB quiet: %g", quiet);
  const double other = vamp::train::level_loss(at::randn({2, 1, 44100}).mul_(0.1), noise).item<double>();
  ck_assert_msg(other < 0.05, "other noise of the same power: %g", other);
}
END_TEST

START_TEST(test_decoder_widens_and_decodes_the_same) {
  at::set_num_threads(2);
  const auto ck = vamp::random_codec_checkpoint(small_codec(), 3);
  const int64_t dim = vamp::Codec::from_checkpoint(ck)->config().decoder_dim;
  const auto wide_ck = vamp::train::with_decoder_dim(ck, 2 * dim, 4);
  auto narrow = vamp::Codec::from_checkpoint(ck);
  auto wide = vamp::Codec::from_checkpoint(wide_ck);
  ck_assert_int_eq(wide->config().decoder_dim, 2 * dim);
  const at::Tensor x = plucks(1, 768 * 8);
  const at::Tensor codes = narrow->encode(x);
  VAMP_ASSERT_EQUAL(wide->encode(x), codes);
  VAMP_ASSERT_CLOSE(wide->decode(codes), narrow->decode(codes), 1e-5);

  // The new channels train: the output layer's weights on them get a gradient at once.
  vamp::train::Params params(wide_ck, at::kCPU);
  vamp::train::CodecNet net(params, wide->config());
  vamp::train::MelLoss mel(44100, at::kCPU);
  mel(net.forward(x).audio, x).backward();
  const std::string out = "decoder.model." + std::to_string(wide->config().decoder_rates.size() + 2) + ".weight_v";
  const int64_t c = params[out].size(1);
  ck_assert_msg(params[out].grad().narrow(1, c / 2, c / 2).abs().sum().item<double>() > 0, "no gradient");

  bool threw = false;
  try {
    vamp::train::with_decoder_dim(wide_ck, dim, 5);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  ck_assert(threw);
}
END_TEST

START_TEST(test_c2f_grows_with_the_codec) {
  // A c2f for 6 codebooks grown to 9 (a codec that gained RVQ stages) predicts the old
  // codebooks exactly as before, whatever the new codebooks hold, with heads of its own for the new ones.
  auto small = vamp::TransformerConfig::preset("tiny-c2f"), big = small;
  small.n_codebooks = 6;
  big.n_codebooks = 9;
  small.n_conditioning_codebooks = big.n_conditioning_codebooks = 2;
  vamp::CodecConfig codec_cfg = small_codec();
  codec_cfg.n_codebooks = 9;
  auto codec = vamp::Codec::from_checkpoint(vamp::random_codec_checkpoint(codec_cfg, 3));
  std::vector<at::Tensor> books;
  for (int i = 0; i < 9; ++i) books.push_back(codec->codebook(i));
  const auto old_ck = vamp::random_transformer_checkpoint(small, 5, false);
  const auto grown_ck = vamp::train::with_transformer_codebooks(old_ck, vamp::random_transformer_checkpoint(big, 6, false));
  auto before = vamp::Transformer::from_checkpoint(old_ck, std::vector<at::Tensor>(books.begin(), books.begin() + 6));
  auto grown = vamp::Transformer::from_checkpoint(grown_ck, books);

  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(4);
  const at::Tensor z = at::randint(0, small.vocab_size + 1, {2, 9, 20}, g, at::kLong);  // MASK included
  const at::Tensor old_logits = before->token_logits(z.narrow(1, 0, 6)).view({2, 20, 4, -1});
  const at::Tensor new_logits = grown->token_logits(z).view({2, 20, 7, -1});
  VAMP_ASSERT_CLOSE(new_logits.narrow(2, 0, 4), old_logits, 1e-5);
  ck_assert(!at::allclose(new_logits.narrow(2, 4, 3), new_logits.narrow(2, 0, 3)));

  // Only the codebook count may differ, and only upwards.
  auto expect_error = [](const vamp::Checkpoint& a, const vamp::Checkpoint& b, const char* what) {
    try {
      vamp::train::with_transformer_codebooks(a, b);
    } catch (const vamp::CheckpointError& e) {
      ck_assert_msg(std::string(e.what()).find(what) != std::string::npos, "%s", e.what());
      return;
    }
    ck_abort_msg("no error for %s", what);
  };
  expect_error(grown_ck, old_ck, "can be added, not removed");
  auto wider = big;
  wider.embedding_dim = 128;
  expect_error(old_ck, vamp::random_transformer_checkpoint(wider, 6, false), "embedding_dim");
}
END_TEST

START_TEST(test_transformer_training_learns_a_pattern) {
  at::set_num_threads(2);
  at::manual_seed(0);
  auto cfg = vamp::TransformerConfig::preset("tiny-coarse");
  const auto codec = vamp::Codec::from_checkpoint(vamp::random_codec_checkpoint(small_codec(), 3));
  std::vector<at::Tensor> books;
  for (int i = 0; i < 4; ++i) books.push_back(codec->codebook(i));
  vamp::train::Params params(vamp::random_transformer_checkpoint(cfg, 6, false), at::kCPU);
  vamp::train::TransformerNet net(params, cfg, books);
  vamp::train::AdamW adam(params.trainable(), 0.9, 0.999);
  // A repeating 4-frame pattern: masked tokens are predictable from their neighbours.
  const at::Tensor pattern = at::randint(0, 1024, {1, 4, 4}, at::kLong);
  const at::Tensor z = pattern.repeat({4, 1, 8});
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  double first_acc = -1, acc = 0, first_loss = 0, loss = 0;
  for (int i = 0; i < 60; ++i) {
    const at::Tensor m = vamp::train::cosine_schedule_mask(4, 4, 32, 0, g);
    auto l = vamp::train::masked_token_loss(net, z, m, 0.0);
    if (first_acc < 0) first_acc = l.accuracy, first_loss = l.loss.item<double>();
    acc = l.accuracy;
    loss = l.loss.item<double>();
    adam.zero_grad();
    l.loss.backward();
    adam.step(3e-3, 1.0);
  }
  // Rows masked almost entirely cannot tell the pattern's phase, so accuracy stays below 1.
  ck_assert_msg(acc > 0.3 && first_acc < 0.05 && loss < 0.5 * first_loss, "accuracy %g -> %g, loss %g -> %g",
                first_acc, acc, first_loss, loss);
}
END_TEST

START_TEST(test_adamw_first_step) {
  // Bias-corrected Adam's first step moves each weight by lr * g / (|g| + eps): -lr * sign(g);
  // weight decay shrinks the weight first; the global gradient norm is clipped before.
  at::Tensor w = at::tensor({1.0f, -2.0f, 3.0f}).set_requires_grad(true);
  vamp::train::AdamW adam({w}, 0.9, 0.999, 1e-8, 0.1);
  (w * at::tensor({2.0f, -1.0f, 0.5f})).sum().backward();
  const double norm = adam.step(0.01, 1.0);
  ck_assert_msg(std::abs(norm - std::sqrt(5.25)) < 1e-5, "gradient norm %g", norm);
  VAMP_ASSERT_CLOSE(w.detach(), at::tensor({1.0f * 0.999f - 0.01f, -2.0f * 0.999f + 0.01f, 3.0f * 0.999f - 0.01f}),
                    1e-6);
}
END_TEST

START_TEST(test_masks_and_metrics) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(2);
  const at::Tensor m = vamp::train::cosine_schedule_mask(64, 8, 100, 4, g);
  ck_assert_int_eq(m.narrow(1, 0, 4).sum().item<int64_t>(), 0);  // conditioning codebooks kept
  const double frac = m.narrow(1, 4, 4).to(at::kFloat).mean().item<double>();
  ck_assert_msg(std::abs(frac - 2 / M_PI) < 0.08, "masked fraction %g, E[cos(pi r/2)] = 0.64", frac);
  // SI-SDR: 20 dB of added noise reads 20 dB; a scaled copy is perfect.
  at::Tensor s = at::randn({1, 1, 44100}, g);
  at::Tensor n = at::randn({1, 1, 44100}, g) * 0.1;
  ck_assert_msg(std::abs(vamp::train::si_sdr(s + n, s).item<double>() - 20.0) < 0.3, "si-sdr of 20 dB noise");
  // Chroma of an A440 tone peaks at A; the 3 kHz low-pass removes a 5 kHz tone.
  at::Tensor t = at::arange(44100, at::kFloat) / 44100.0;
  ck_assert_int_eq(vamp::train::chroma(at::sin(t * (2 * M_PI * 440)), 44100).argmax().item<int64_t>(), 9);
  at::Tensor hi = at::sin(t * (2 * M_PI * 5000)).view({1, 1, -1});
  ck_assert_msg(vamp::train::lowpass(hi, 44100, 3000).abs().max().item<double>() < 1e-3, "low-pass");
}
END_TEST

// The held-out codec report on a folder of two pieces: every piece counted, the band shares
// cover the spectrum, and a codec with 6 codebooks reads the same for "the first 8" as for all.
START_TEST(test_codec_report) {
  at::set_num_threads(2);
  const std::string dir = scratch("train_report");
  std::filesystem::create_directories(dir);
  const at::Tensor x = plucks(2, 44100);
  for (int64_t b = 0; b < 2; ++b)
    vamp::save_wav(dir + "/piece_" + std::to_string(b) + ".wav", {x[b].clone(), 44100});
  auto codec = vamp::Codec::from_checkpoint(vamp::random_codec_checkpoint(small_codec(), 5));
  const auto q = vamp::train::evaluate_codec(*codec, vamp::train::AudioSet(dir, 44100), 1.0);
  ck_assert_int_eq(q.pieces, 2);
  double share = 0;
  for (const auto& b : q.bands) share += b.input_share;
  ck_assert_msg(std::abs(share - 1.0) < 1e-3, "band shares sum to %g", share);
  ck_assert_msg(std::isfinite(q.si_sdr) && q.si_sdr_first8 == q.si_sdr, "SI-SDR %g, first 8 %g", q.si_sdr,
                q.si_sdr_first8);
  ck_assert_msg(q.mel_codec > 0 && q.mel_lowpass > 0, "mel %g, low-pass %g", q.mel_codec, q.mel_lowpass);
}
END_TEST

}  // namespace

static Suite* train_suite() {
  Suite* s = suite_create("train");
  TCase* tc = tcase_create("train");
  tcase_add_test(tc, test_codec_net_equals_inference_codec);
  tcase_add_test(tc, test_transformer_net_equals_inference_transformer);
  tcase_add_test(tc, test_codec_training_lowers_loss_and_resumes);
  tcase_add_test(tc, test_decoder_only_training_keeps_the_codes);
  tcase_add_test(tc, test_istft_decoder_swap_trains);
  tcase_add_test(tc, test_istft_decoder_shortens);
  tcase_add_test(tc, test_adversarial_run_saves_and_resumes);
  tcase_add_test(tc, test_log_stft_loss);
  tcase_add_test(tc, test_level_loss);
  tcase_add_test(tc, test_fused_snake_matches_torch_ops);
  tcase_add_test(tc, test_c2f_grows_with_the_codec);
  tcase_add_test(tc, test_decoder_widens_and_decodes_the_same);
  tcase_add_test(tc, test_transformer_training_learns_a_pattern);
  tcase_add_test(tc, test_adamw_first_step);
  tcase_add_test(tc, test_masks_and_metrics);
  tcase_add_test(tc, test_codec_report);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(train_suite)

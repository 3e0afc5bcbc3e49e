// Codec: parity with the Python LAC (golden_codec_a), chunked processing, checkpoint errors,
// random checkpoints written by our writer.
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "vamp/snake.h"
// check.h defines a `fail` macro: include it after engine headers.
#include "testutil.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace {

using TensorMap = std::map<std::string, at::Tensor>;

const TensorMap& golden() {
  static TensorMap g = vamp::load_tensor_dict(vamp::test::data("golden_codec_a.pt"));
  return g;
}

const at::Tensor& G(const std::string& key) {
  auto it = golden().find(key);
  ck_assert_msg(it != golden().end(), "golden_codec_a.pt has no '%s'", key.c_str());
  return it->second;
}

std::shared_ptr<vamp::Codec> codec_a() { return vamp::Codec::load(vamp::test::data("codec_a.pth")); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Message of building a codec from ck, or "" when it loads.
std::string load_error(const vamp::Checkpoint& ck) {
  try {
    vamp::Codec::from_checkpoint(ck);
  } catch (const vamp::CheckpointError& e) {
    return e.what();
  }
  return "";
}

// Frames [T] where every stage has a clear winner (no golden code_margin < 1e-5 at any stage).
at::Tensor clean_frames() {
  return (G("code_margin")[0] >= 1e-5).all(0);
}

// Codes must match except, per frame, from the first stage whose margin is < 1e-5 onwards.
int64_t count_code_mismatches(const at::Tensor& got, const at::Tensor& want, int64_t* skipped) {
  at::Tensor margin = G("code_margin")[0];  // [K, T]
  at::Tensor tie = (margin < 1e-5).to(at::kInt).cumsum(0) > 0;  // stage at or after the first near tie
  at::Tensor diff = (got[0] != want[0]) & tie.logical_not();
  *skipped = tie.sum().item<int64_t>();
  return diff.sum().item<int64_t>();
}

double max_rel_to_scale(const at::Tensor& a, const at::Tensor& b) {
  return vamp::test::max_abs_diff(a, b) / b.abs().max().item<double>();
}

}  // namespace

// The one-pass Snake against the reference's five ops (torch's sin): within a few ulp for the
// usual arguments and for the large ones that take libm's sinf; bf16 results rounded as torch.
START_TEST(test_snake_kernel) {
  at::manual_seed(3);
  const int64_t n = 100003;  // not a multiple of any vector width or piece
  at::Tensor x = at::randn({n}) * 4.0;
  x[7] = 30000.0f;  // |alpha x| > 8192
  x[n - 1] = -12345.0f;
  for (float alpha : {0.05f, 1.0f, 2.7f}) {
    const float rinv = 1.0f / (alpha + 1e-9f);
    const at::Tensor ref = x + rinv * at::sin(alpha * x).pow(2);
    at::Tensor out = at::empty({n});
    vamp::snake_row(x.data_ptr<float>(), out.data_ptr<float>(), n, alpha, rinv);
    // relative to the output, with the sin^2 term's scale (rinv) as the floor
    const double err = ((out - ref).abs() / (ref.abs() + 1.0 + rinv)).max().item<double>();
    ck_assert_msg(err < 1e-6, "alpha %g: max relative error %g", double(alpha), err);
    // in place
    at::Tensor y = x.clone();
    vamp::snake_row(y.data_ptr<float>(), y.data_ptr<float>(), n, alpha, rinv);
    VAMP_ASSERT_EQUAL(y, out);
    // bf16 out, and bf16 in and out: as torch rounds the fp32 result (a few ties may flip)
    at::Tensor o16 = at::empty({n}, at::kBFloat16);
    vamp::snake_row(x.data_ptr<float>(), static_cast<uint16_t*>(o16.data_ptr()), n, alpha, rinv);
    ck_assert_int_lt((o16 != ref.to(at::kBFloat16)).sum().item<int64_t>(), n / 1000);
    const at::Tensor x16 = x.to(at::kBFloat16), xf = x16.to(at::kFloat);
    const at::Tensor ref16 = (xf + rinv * at::sin(alpha * xf).pow(2)).to(at::kBFloat16);
    vamp::snake_row(static_cast<const uint16_t*>(x16.data_ptr()), static_cast<uint16_t*>(o16.data_ptr()), n, alpha, rinv);
    ck_assert_int_lt((o16 != ref16).sum().item<int64_t>(), n / 1000);
  }
}
END_TEST

START_TEST(test_config_from_shapes) {
  auto codec = codec_a();
  const auto& c = codec->config();
  ck_assert_int_eq(c.sample_rate, 44100);
  ck_assert_int_eq(c.hop_length, 64);
  ck_assert_int_eq(c.n_codebooks, 14);
  ck_assert_int_eq(c.codebook_size, 1024);
  ck_assert_int_eq(c.codebook_dim, 8);
  ck_assert_int_eq(c.encoder_dim, 4);
  ck_assert_int_eq(c.latent_dim, 64);
  ck_assert_int_eq(c.decoder_dim, 64);
  ck_assert(c.encoder_rates == std::vector<int64_t>({2, 2, 4, 4}));
  ck_assert(c.decoder_rates == std::vector<int64_t>({2, 2, 2, 2, 2, 2}));
  ck_assert(codec->id().size() == 8 && codec->id().find_first_not_of("0123456789abcdef") == std::string::npos);
  auto again = codec_a();
  ck_assert_str_eq(codec->id().c_str(), again->id().c_str());
  ck_assert(codec->codebook(3).sizes() == at::IntArrayRef({1024, 8}));
  auto ck = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  ck_assert(at::equal(codec->codebook(13), ck.at("quantizer.quantizers.13.codebook.weight")));
  std::printf("codec_a: id %s, encoder context %lld frames, decoder context %lld frames\n", codec->id().c_str(),
              (long long)codec->encoder_context_frames(), (long long)codec->decoder_context_frames());
}
END_TEST

START_TEST(test_receptive_fields) {
  // Spec 4.2: the released codec's encoder frame sees 11846 samples [768t-5539, 768t+6306].
  // The spec measured (by gradients, float32) decoder frames f-17 .. f+17; the structural cone is
  // f-18 .. f+18: the outermost taps pass through ~40 conv layers and their float32 gradient
  // underflows, which is why a measurement sees one frame less on each side.
  const auto full = vamp::codec_preset("full");
  const auto ef = vamp::encoder_receptive_field(full);
  ck_assert_int_eq(ef.first, -5539);
  ck_assert_int_eq(ef.second, 6306);
  const auto df = vamp::decoder_receptive_field(full);
  ck_assert_int_eq(df.first, -18);
  ck_assert_int_eq(df.second, 18);
  ck_assert_int_eq(ef.second - ef.first + 1, 11846);
  // The tiny preset has the same strides, hence the same fields.
  ck_assert(vamp::encoder_receptive_field(vamp::codec_preset("tiny")) == ef);
}
END_TEST

START_TEST(test_encoder_parity) {
  auto codec = codec_a();
  at::Tensor z = codec->encoder_latent(G("audio_padded"));
  const double rel = max_rel_to_scale(z, G("encoder_out"));
  std::printf("encoder_out: max abs diff %g, relative to max |z| %g\n", vamp::test::max_abs_diff(z, G("encoder_out")),
              rel);
  ck_assert(z.sizes() == G("encoder_out").sizes());
  ck_assert_msg(at::allclose(z, G("encoder_out"), 1e-5, 1e-5 * G("encoder_out").abs().max().item<double>()),
                "encoder_out relative error %g", rel);
}
END_TEST

START_TEST(test_rvq_parity) {
  auto codec = codec_a();
  // From the golden encoder output (isolates the quantizer) and from our own encoder.
  auto q = codec->quantize(G("encoder_out"));
  int64_t skipped = 0;
  const int64_t bad = count_code_mismatches(q.codes, G("rvq_codes"), &skipped);
  const int64_t total_diff = (q.codes != G("rvq_codes")).sum().item<int64_t>();
  std::printf("rvq codes: %lld mismatches outside near ties (%lld stage-frames skipped), %lld differ overall\n",
              (long long)bad, (long long)skipped, (long long)total_diff);
  ck_assert_int_eq(bad, 0);
  ck_assert(q.codes.scalar_type() == at::kLong);

  at::Tensor clean = clean_frames();
  auto on_clean = [&](const at::Tensor& t) { return t.index({at::indexing::Slice(), at::indexing::Slice(), clean}); };
  std::printf("rvq latents max diff %g, z_q max diff %g (%lld clean frames of %lld)\n",
              vamp::test::max_abs_diff(on_clean(q.latents), on_clean(G("rvq_latents"))),
              vamp::test::max_abs_diff(on_clean(q.z_q), on_clean(G("rvq_z_q"))),
              (long long)clean.sum().item<int64_t>(), (long long)clean.numel());
  VAMP_ASSERT_CLOSE(on_clean(q.latents), on_clean(G("rvq_latents")), 1e-5);
  VAMP_ASSERT_CLOSE(on_clean(q.z_q), on_clean(G("rvq_z_q")), 1e-5);

  at::Tensor codes = codec->encode(G("audio_padded"));
  const int64_t bad2 = count_code_mismatches(codes, G("rvq_codes"), &skipped);
  std::printf("encode(audio_padded): %lld code mismatches outside near ties, %lld differ overall\n", (long long)bad2,
              (long long)(codes != G("rvq_codes")).sum().item<int64_t>());
  ck_assert_int_eq(bad2, 0);
}
END_TEST

START_TEST(test_decoder_parity) {
  auto codec = codec_a();
  at::Tensor a = codec->decode_latent(G("rvq_z_q"));
  std::printf("decoded_from_z_q max diff %g\n", vamp::test::max_abs_diff(a, G("decoded_from_z_q")));
  VAMP_ASSERT_CLOSE(a, G("decoded_from_z_q"), 1e-5);

  at::Tensor z = codec->from_codes(G("rvq_codes"));
  std::printf("from_codes_z_q max diff %g\n", vamp::test::max_abs_diff(z, G("from_codes_z_q")));
  VAMP_ASSERT_CLOSE(z, G("from_codes_z_q"), 1e-5);
  at::Tensor b = codec->decode(G("rvq_codes"));
  std::printf("decoded_from_codes max diff %g\n", vamp::test::max_abs_diff(b, G("decoded_from_codes")));
  VAMP_ASSERT_CLOSE(b, G("decoded_from_codes"), 1e-5);

  at::Tensor rz = codec->from_codes(G("random_codes"));
  VAMP_ASSERT_CLOSE(rz, G("random_codes_z_q"), 1e-5);
  at::Tensor r = codec->decode(G("random_codes"));
  std::printf("random_codes_decoded max diff %g\n", vamp::test::max_abs_diff(r, G("random_codes_decoded")));
  VAMP_ASSERT_CLOSE(r, G("random_codes_decoded"), 1e-5);
  ck_assert(r.sizes() == at::IntArrayRef({1, 1, 48 * 64}));

  // int32 codes and a prefix of the codebooks (coarse decode) are accepted.
  VAMP_ASSERT_CLOSE(codec->decode(G("random_codes").to(at::kInt)), r, 0.0);
  at::Tensor coarse = codec->decode(G("random_codes").slice(1, 0, 4));
  ck_assert(coarse.sizes() == r.sizes());
  ck_assert(coarse.isfinite().all().item<bool>());
}
END_TEST

START_TEST(test_batch_rows_independent) {
  auto codec = codec_a();
  at::Tensor x = G("audio_padded").slice(2, 0, 64 * 200);
  at::Tensor two = at::cat({x, x.flip(2)}, 0);
  at::Tensor codes = codec->encode(two);
  VAMP_ASSERT_EQUAL(codes[0], codec->encode(x)[0]);
  at::Tensor audio = codec->decode(codes);
  VAMP_ASSERT_CLOSE(audio[1], codec->decode(codes.slice(0, 1, 2))[0], 1e-5);
}
END_TEST

START_TEST(test_chunked_equals_whole) {
  auto codec = codec_a();
  at::Tensor x = G("audio_padded");
  at::Tensor whole = codec->encode(x);
  at::Tensor lat = codec->encoder_latent(x);
  const int64_t hop = codec->config().hop_length, T = whole.size(2), C = codec->encoder_context_frames();
  // Latent of a window with C frames of context equals the whole pass on its central frames.
  double worst_lat = 0;
  for (int64_t t0 : {0L, 100L, 400L, T - 60}) {
    const int64_t t1 = std::min(T, t0 + 60), a = std::max<int64_t>(0, t0 - C), b = std::min(T, t1 + C);
    at::Tensor w = codec->encoder_latent(x.slice(2, a * hop, b * hop)).slice(2, t0 - a, t1 - a);
    worst_lat = std::max(worst_lat, vamp::test::max_abs_diff(w, lat.slice(2, t0, t1)));
  }
  for (int64_t chunk : {50, 97, 300}) {
    at::Tensor codes = codec->encode_chunked(x, chunk);
    int64_t skipped = 0;
    ck_assert_int_eq(count_code_mismatches(codes, whole, &skipped), 0);
  }
  std::printf("chunked encoder latent max diff %g (context %lld frames)\n", worst_lat, (long long)C);
  ck_assert_msg(worst_lat <= 1e-5 * lat.abs().max().item<double>(), "chunked latent differs by %g", worst_lat);

  // One frame less context than the receptive field needs changes the result beyond rounding.
  {
    const int64_t c = C - 2, t0 = 400, t1 = 460;
    at::Tensor w = codec->encoder_latent(x.slice(2, (t0 - c) * hop, (t1 + c) * hop)).slice(2, c, c + 60);
    const double d = vamp::test::max_abs_diff(w, lat.slice(2, t0, t1));
    std::printf("with %lld context frames the latent differs by %g\n", (long long)c, d);
    ck_assert(d > 10 * worst_lat && d > 1e-6);
  }

  at::Tensor audio = codec->decode(whole);
  double worst = 0;
  for (int64_t chunk : {40, 100, 333}) {
    at::Tensor a = codec->decode_chunked(whole, chunk);
    ck_assert(a.sizes() == audio.sizes());
    worst = std::max(worst, vamp::test::max_abs_diff(a, audio));
  }
  std::printf("chunked decode max diff %g (context %lld frames)\n", worst, (long long)codec->decoder_context_frames());
  ck_assert_msg(worst <= 1e-5, "chunked decode differs by %g", worst);
}
END_TEST

START_TEST(test_kwargs_contradict_shapes) {
  auto ck = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  ck.kwargs = vamp::py_dict({{"encoder_dim", vamp::py_int(64)}});
  std::string msg = load_error(ck);
  std::printf("%s\n", msg.c_str());
  ck_assert(contains(msg, "encoder_dim") && contains(msg, "encoder.block.0.weight_v") && contains(msg, "[4, 1, 7]"));
  ck_assert(contains(msg, "codec_a.pth"));

  ck.kwargs = vamp::py_dict({{"decoder_rates", vamp::py_int_list({6, 4, 4, 2, 2, 2})}});
  msg = load_error(ck);
  ck_assert(contains(msg, "decoder_rates") && contains(msg, "decoder.model.1.block.1.weight_v"));
  ck.kwargs = vamp::py_dict({{"n_codebooks", vamp::py_int(9)}});
  ck_assert(contains(load_error(ck), "n_codebooks"));
  ck.kwargs = vamp::py_dict({{"codebook_dim", vamp::py_int(16)}});
  ck_assert(contains(load_error(ck), "codebook_dim"));
  ck.kwargs = vamp::py_dict({{"codebook_size", vamp::py_int(512)}});
  ck_assert(contains(load_error(ck), "quantizer.quantizers.0.codebook.weight"));

  // Through a file written by our writer: the message names the file too.
  ck.kwargs = vamp::py_dict({{"encoder_dim", vamp::py_int(64)}, {"sample_rate", vamp::py_int(44100)}});
  ck.metadata = nullptr;
  const std::string path = vamp::test::scratch("codec_bad_kwargs.pth");
  vamp::save_checkpoint(path, ck);
  try {
    vamp::Codec::load(path);
    ck_abort_msg("loaded a codec whose kwargs contradict its shapes");
  } catch (const vamp::CheckpointError& e) {
    ck_assert(contains(e.what(), "codec_bad_kwargs.pth") && contains(e.what(), "encoder_dim"));
  }
  std::remove(path.c_str());
}
END_TEST

START_TEST(test_corrupt_checkpoints) {
  const auto orig = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  auto replace = [&](const std::string& key, at::Tensor t) {
    vamp::Checkpoint ck = orig;
    for (auto& [k, v] : ck.tensors)
      if (k == key) v = t;
    return ck;
  };
  // A wrong shape names key and shapes.
  std::string msg = load_error(replace("decoder.model.3.block.2.mrf_blocks.1.block.2.layer.3.weight_v",
                                       at::zeros({16, 16, 5})));
  std::printf("%s\n", msg.c_str());
  ck_assert(contains(msg, "decoder.model.3.block.2.mrf_blocks.1.block.2.layer.3.weight_v") && contains(msg, "[16, 16, 5]"));
  ck_assert(contains(load_error(replace("quantizer.quantizers.5.codebook.weight", at::zeros({1024, 4}))),
                     "quantizer.quantizers.5.codebook.weight"));
  ck_assert(contains(load_error(replace("encoder.block.2.block.1.block.0.alpha", at::zeros({1, 8}))),
                     "encoder.block.2.block.1.block.0.alpha"));
  // A missing tensor.
  vamp::Checkpoint ck = orig;
  ck.tensors.erase(ck.tensors.begin() + 200);
  msg = load_error(ck);
  ck_assert(contains(msg, orig.tensors[200].first));
  // A key the LAC layout does not have (e.g. a DAC checkpoint) is refused, not ignored.
  ck = orig;
  ck.add("decoder.model.1.block.3.alpha", at::ones({1, 32, 1}));
  ck_assert(contains(load_error(ck), "decoder.model.1.block.3.alpha"));
  // Not a codec at all.
  ck_assert(contains(load_error(vamp::load_checkpoint(vamp::test::data("coarse_a.pth"))), "encoder.block.0"));
}
END_TEST

START_TEST(test_bad_inputs) {
  auto codec = codec_a();
  bool threw = false;
  try {
    codec->encode(at::zeros({1, 1, 100}));
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  ck_assert(threw);
  threw = false;
  try {
    codec->decode(at::full({1, 4, 3}, 1024, at::kLong));
  } catch (const std::out_of_range& e) {
    threw = contains(e.what(), "1024");
  }
  ck_assert(threw);
  threw = false;
  try {
    codec->decode(at::full({1, 4, 3}, -1, at::kLong));
  } catch (const std::out_of_range&) {
    threw = true;
  }
  ck_assert(threw);
  threw = false;
  try {
    codec->decode(at::zeros({1, 15, 3}, at::kLong));
  } catch (const std::out_of_range&) {
    threw = true;
  }
  ck_assert(threw);
}
END_TEST

START_TEST(test_parametrizations_names) {
  // torch.nn.utils.parametrizations.weight_norm names: same math, same id.
  auto ck = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  for (auto& [k, v] : ck.tensors) {
    auto ends = [&](const std::string& s) { return k.size() > s.size() && k.compare(k.size() - s.size(), s.size(), s) == 0; };
    if (ends(".weight_g")) k = k.substr(0, k.size() - 9) + ".parametrizations.weight.original0";
    else if (ends(".weight_v")) k = k.substr(0, k.size() - 9) + ".parametrizations.weight.original1";
  }
  auto renamed = vamp::Codec::from_checkpoint(ck);
  auto codec = codec_a();
  ck_assert_str_eq(renamed->id().c_str(), codec->id().c_str());
  VAMP_ASSERT_CLOSE(renamed->decode(G("random_codes")), codec->decode(G("random_codes")), 0.0);
  VAMP_ASSERT_EQUAL(renamed->encode(G("audio_padded")), codec->encode(G("audio_padded")));
}
END_TEST

START_TEST(test_random_checkpoint_round_trip) {
  const auto cfg = vamp::codec_preset("tiny");
  const std::string p1 = vamp::test::scratch("codec_rand_1.pth"), p2 = vamp::test::scratch("codec_rand_2.pth");
  vamp::save_checkpoint(p1, vamp::random_codec_checkpoint(cfg, 7));
  vamp::save_checkpoint(p2, vamp::random_codec_checkpoint(cfg, 7));
  auto a = vamp::Codec::load(p1), b = vamp::Codec::load(p2);
  auto c = vamp::Codec::from_checkpoint(vamp::random_codec_checkpoint(cfg, 8));
  ck_assert_str_eq(a->id().c_str(), b->id().c_str());
  ck_assert_str_ne(a->id().c_str(), c->id().c_str());
  ck_assert_int_eq(a->config().hop_length, 768);
  ck_assert_int_eq(a->config().n_codebooks, 14);
  ck_assert_int_eq(a->config().latent_dim, 64);

  // Released layout: same key count (680 tensors) and kwargs as the released codec.
  auto ck = vamp::load_checkpoint(p1);
  ck_assert_int_eq(ck.tensors.size(), 680);
  ck_assert(ck.kwarg_int_list("decoder_rates") == cfg.decoder_rates);
  ck_assert(ck.has("decoder.model.1.block.1.weight_g"));
  ck_assert(ck.at("decoder.model.1.block.1.weight_g").sizes() == at::IntArrayRef({64, 1, 1}));

  at::Tensor t = at::arange(768 * 40, at::kFloat).div_(44100.0).mul_(2 * M_PI * 220).sin_().mul_(0.3).view({1, 1, -1});
  at::Tensor codes = a->encode(t);
  ck_assert(codes.sizes() == at::IntArrayRef({1, 14, 40}));
  VAMP_ASSERT_EQUAL(codes, b->encode(t));
  at::Tensor audio = a->decode(codes);
  ck_assert(audio.sizes() == t.sizes());
  VAMP_ASSERT_CLOSE(audio, b->decode(codes), 0.0);
  const double sd = audio.std().item<double>();
  std::printf("tiny random codec %s: decoded std %g, absmax %g, %lld distinct stage-0 codes\n", a->id().c_str(), sd,
              audio.abs().max().item<double>(), (long long)std::get<0>(at::_unique(codes[0][0])).numel());
  ck_assert(audio.isfinite().all().item<bool>());
  ck_assert_msg(sd > 1e-3 && sd < 0.9, "decoded std %g", sd);
  std::remove(p1.c_str());
  std::remove(p2.c_str());
}
END_TEST

START_TEST(test_torch_load_reads_our_file) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    std::printf("python3-torch not installed: skipping the torch.load check\n");
    return;
  }
  const std::string path = vamp::test::scratch("codec_rand_torch.pth");
  vamp::save_checkpoint(path, vamp::random_codec_checkpoint(vamp::codec_preset("tiny"), 3));
  const std::string cmd = "/usr/bin/python3 -c 'import sys, torch; d = torch.load(sys.argv[1]); "
                          "assert len(d[\"state_dict\"]) == 680; assert d[\"metadata\"][\"kwargs\"][\"n_codebooks\"] == 14' " +
                          path;
  ck_assert_int_eq(std::system(cmd.c_str()), 0);
  std::remove(path.c_str());
}
END_TEST

// The inverse-STFT decoder family: same encoder and tokens, a ConvNeXt + iSTFT decoder.
static vamp::CodecConfig istft_config() {
  vamp::CodecConfig cfg = vamp::codec_preset("tiny");
  cfg.decoder = "istft";
  cfg.decoder_dim = 32;
  cfg.decoder_layers = 2;
  cfg.n_fft = 1024;
  cfg.istft_hop = 256;
  return cfg;
}

START_TEST(test_istft_decoder) {
  const std::string path = vamp::test::scratch("codec_istft.pth");
  vamp::save_checkpoint(path, vamp::random_codec_checkpoint(istft_config(), 5));
  auto codec = vamp::Codec::load(path);
  const auto& c = codec->config();
  ck_assert_str_eq(c.decoder.c_str(), "istft");
  ck_assert_int_eq(c.hop_length, 768);
  ck_assert_int_eq(c.decoder_layers, 2);
  ck_assert_int_eq(c.n_fft, 1024);
  // embed and 2 blocks: 3 + 6 frames, the window: 1 frame, plus one of margin.
  ck_assert_int_eq(codec->decoder_context_frames(), 11);

  // The encoder and quantizer are LAC's: the same tokens as a LAC codec with the same weights.
  auto lac = vamp::Codec::from_checkpoint(vamp::random_codec_checkpoint(vamp::codec_preset("tiny"), 5));
  at::Tensor t = at::arange(768 * 40, at::kFloat).div_(44100.0).mul_(2 * M_PI * 220).sin_().mul_(0.3).view({1, 1, -1});
  at::Tensor codes = codec->encode(t);
  VAMP_ASSERT_EQUAL(codes, lac->encode(t));

  at::Tensor audio = codec->decode(codes);
  ck_assert(audio.sizes() == t.sizes());
  ck_assert(audio.isfinite().all().item<bool>());
  // A fresh decoder starts quiet (log magnitudes near -5) but not silent.
  const double sd = audio.std().item<double>();
  ck_assert_msg(sd > 1e-5 && sd < 0.1, "decoded std %g", sd);
  // Windowed decoding equals the whole pass (the context covers the receptive field).
  VAMP_ASSERT_CLOSE(codec->decode_chunked(codes, 7), audio, 1e-5);
  VAMP_ASSERT_CLOSE(codec->decode(codes.narrow(1, 0, 4)).narrow(2, 0, 768), 
                    codec->decode(codes.narrow(1, 0, 4).narrow(2, 0, 20)).narrow(2, 0, 768), 1e-5);

  // A layout error names the key and both shapes; kwargs must agree with the keys.
  auto ck = vamp::load_checkpoint(path);
  for (auto& [key, tensor] : ck.tensors)
    if (key == "decoder.head.weight") tensor = tensor.narrow(0, 0, tensor.size(0) - 2);
  try {
    vamp::Codec::from_checkpoint(ck);
    ck_abort_msg("a truncated head loaded");
  } catch (const vamp::CheckpointError& e) {
    ck_assert_msg(std::string(e.what()).find("decoder.head.weight") != std::string::npos, "%s", e.what());
  }
  auto ck2 = vamp::load_checkpoint(path);
  for (auto& [k, v] : ck2.kwargs->dict)
    if (k->s == "decoder") v = vamp::py_str("lac");
  try {
    vamp::Codec::from_checkpoint(ck2);
    ck_abort_msg("decoder='lac' over istft keys loaded");
  } catch (const vamp::CheckpointError& e) {
    ck_assert_msg(std::string(e.what()).find("metadata.kwargs['decoder']") != std::string::npos, "%s", e.what());
  }
  std::remove(path.c_str());
}
END_TEST

static Suite* codec_suite() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep prints of tests that fail (libcheck forks)
  Suite* s = suite_create("codec");
  TCase* tc = tcase_create("codec");
  tcase_add_test(tc, test_snake_kernel);
  tcase_add_test(tc, test_config_from_shapes);
  tcase_add_test(tc, test_receptive_fields);
  tcase_add_test(tc, test_encoder_parity);
  tcase_add_test(tc, test_rvq_parity);
  tcase_add_test(tc, test_decoder_parity);
  tcase_add_test(tc, test_batch_rows_independent);
  tcase_add_test(tc, test_chunked_equals_whole);
  tcase_add_test(tc, test_kwargs_contradict_shapes);
  tcase_add_test(tc, test_corrupt_checkpoints);
  tcase_add_test(tc, test_bad_inputs);
  tcase_add_test(tc, test_parametrizations_names);
  tcase_add_test(tc, test_random_checkpoint_round_trip);
  tcase_add_test(tc, test_torch_load_reads_our_file);
  tcase_add_test(tc, test_istft_decoder);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(codec_suite)

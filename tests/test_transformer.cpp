// Transformer parity with the original VampNet (golden_transformer_a): every intermediate, per model.
#include "vamp/checkpoint.h"
#include "vamp/transformer.h"
#include "testutil.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <map>
#include <string>

namespace {

std::vector<at::Tensor> codec_codebooks() {
  auto ck = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  std::vector<at::Tensor> cbs;
  for (int i = 0; i < 14; ++i) cbs.push_back(ck.at("quantizer.quantizers." + std::to_string(i) + ".codebook.weight"));
  return cbs;
}

const std::map<std::string, at::Tensor>& golden() {
  static const auto g = vamp::load_tensor_dict(vamp::test::data("golden_transformer_a.pt"));
  return g;
}

const at::Tensor& G(const std::string& key) {
  auto it = golden().find(key);
  ck_assert_msg(it != golden().end(), "golden entry %s missing", key.c_str());
  return it->second;
}

void report(const char* what, const at::Tensor& a, const at::Tensor& b) {
  std::printf("  %-36s max abs diff %.3g\n", what, vamp::test::max_abs_diff(a, b));
}

// One golden model: every stored intermediate within atol 1e-4.
void check_model(const std::string& name, const std::string& file, bool has_layers_and_bias) {
  at::set_num_threads(1);
  auto m = vamp::Transformer::load(vamp::test::data(file), codec_codebooks());
  const at::Tensor z = G(name + "/z"), mask = G(name + "/mask"), zm = G(name + "/z_masked");
  VAMP_ASSERT_EQUAL(z.masked_fill(mask.to(at::kBool), m->mask_token()), zm);
  auto tr = m->trace(zm);
  std::printf("%s:\n", name.c_str());
  report("latents", tr.latents, G(name + "/latents"));
  VAMP_ASSERT_CLOSE(tr.latents, G(name + "/latents"), 1e-6);
  report("embedding_out", tr.embedding_out, G(name + "/embedding_out"));
  VAMP_ASSERT_CLOSE(tr.embedding_out, G(name + "/embedding_out"), 1e-4);
  if (has_layers_and_bias) {
    report("layer_activations", tr.layer_activations, G(name + "/layer_activations"));
    VAMP_ASSERT_CLOSE(tr.layer_activations, G(name + "/layer_activations"), 1e-4);
    report("merged_w_qs_layer0", m->effective_weight("w_qs", 0), G(name + "/merged_w_qs_layer0"));
    VAMP_ASSERT_CLOSE(m->effective_weight("w_qs", 0), G(name + "/merged_w_qs_layer0"), 1e-6);
  }
  if (golden().count(name + "/position_bias")) {
    const at::Tensor pb = G(name + "/position_bias");
    VAMP_ASSERT_CLOSE(m->position_bias(pb.size(2)), pb, 0.0);
  }
  report("classifier rows 0..63", m->classifier_weight().slice(0, 0, 64), G(name + "/classifier_weight_rows0_63"));
  VAMP_ASSERT_CLOSE(m->classifier_weight().slice(0, 0, 64), G(name + "/classifier_weight_rows0_63"), 1e-6);
  report("logits", tr.logits, G(name + "/logits"));
  VAMP_ASSERT_CLOSE(tr.logits, G(name + "/logits"), 1e-4);
  // The plain path equals the traced one, and token_logits is its transpose.
  VAMP_ASSERT_CLOSE(m->logits(zm), tr.logits, 0.0);
  VAMP_ASSERT_CLOSE(m->token_logits(zm).permute({0, 2, 1}), tr.logits, 0.0);
}

}  // namespace

START_TEST(test_coarse_parity) { check_model("coarse", "coarse_a.pth", true); }
END_TEST

START_TEST(test_c2f_parity) { check_model("c2f", "c2f_a.pth", true); }
END_TEST

START_TEST(test_coarse_nolora_parity) { check_model("coarse_nolora", "coarse_a_nolora.pth", false); }
END_TEST

START_TEST(test_relative_bucket_table) {
  const at::Tensor table = G("relative_bucket_table");
  at::Tensor ours = at::empty({601}, at::kLong);
  for (int64_t r = -300; r <= 300; ++r) ours[r + 300] = vamp::Transformer::relative_bucket(r);
  VAMP_ASSERT_EQUAL(ours, table);
}
END_TEST

START_TEST(test_accessors) {
  auto coarse = vamp::Transformer::load(vamp::test::data("coarse_a.pth"), codec_codebooks());
  auto c2f = vamp::Transformer::load(vamp::test::data("c2f_a.pth"), codec_codebooks());
  ck_assert_int_eq(coarse->n_codebooks(), 4);
  ck_assert_int_eq(coarse->n_conditioning_codebooks(), 0);
  ck_assert_int_eq(coarse->n_predicted(), 4);
  ck_assert_int_eq(c2f->n_codebooks(), 14);
  ck_assert_int_eq(c2f->n_conditioning_codebooks(), 4);
  ck_assert_int_eq(c2f->n_predicted(), 10);
  ck_assert_int_eq(c2f->vocab_size(), 1024);
  ck_assert_int_eq(c2f->mask_token(), 1024);
}
END_TEST

START_TEST(test_bad_codes_rejected) {
  auto m = vamp::Transformer::load(vamp::test::data("coarse_a.pth"), codec_codebooks());
  bool threw = false;
  try {
    m->logits(at::full({1, 4, 8}, 1025, at::kLong));
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("out of range") != std::string::npos;
  }
  ck_assert_msg(threw, "code 1025 accepted");
  threw = false;
  try {
    m->logits(at::zeros({1, 14, 8}, at::kLong));
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  ck_assert_msg(threw, "wrong codebook count accepted");
}
END_TEST

START_TEST(test_bad_checkpoint_names_key) {
  auto ck = vamp::load_checkpoint(vamp::test::data("coarse_a.pth"));
  for (auto& [k, t] : ck.tensors)
    if (k == "transformer.layers.1.feed_forward.w_2.weight") t = t.narrow(1, 0, 100);
  std::string msg;
  try {
    vamp::Transformer::from_checkpoint(ck, codec_codebooks());
  } catch (const std::exception& e) {
    msg = e.what();
  }
  ck_assert_msg(msg.find("transformer.layers.1.feed_forward.w_2.weight") != std::string::npos, "message: %s",
                msg.c_str());
  // too few codec codebooks
  msg.clear();
  try {
    auto cbs = codec_codebooks();
    cbs.resize(2);
    vamp::Transformer::from_checkpoint(ck, cbs);
  } catch (const std::exception& e) {
    msg = e.what();
  }
  ck_assert_msg(msg.find("codebooks") != std::string::npos, "message: %s", msg.c_str());
}
END_TEST

START_TEST(test_random_checkpoint_roundtrip) {
  auto cfg = vamp::TransformerConfig::preset("tiny-c2f");
  auto ck = vamp::random_transformer_checkpoint(cfg, 5);
  ck_assert(ck.has("transformer.layers.1.self_attn.fc.lora_B"));
  const std::string path = vamp::test::scratch("random_tiny_c2f.pth");
  vamp::save_checkpoint(path, ck);
  auto cbs = codec_codebooks();
  auto a = vamp::Transformer::from_checkpoint(ck, cbs);
  auto b = vamp::Transformer::load(path, cbs);
  ck_assert_int_eq(b->n_conditioning_codebooks(), 4);
  at::Tensor codes = at::randint(0, 1025, {2, 14, 9}, at::kLong);
  VAMP_ASSERT_CLOSE(a->logits(codes), b->logits(codes), 0.0);
  // LoRA is merged: the effective weight differs from the file's.
  const at::Tensor w = ck.at("transformer.layers.0.self_attn.w_qs.weight");
  ck_assert(vamp::test::max_abs_diff(b->effective_weight("w_qs", 0), w) > 1e-4);
  // batch rows are independent (bitwise on this BLAS; the sampler's row rule relies on it)
  at::Tensor both = a->logits(codes);
  for (int64_t r = 0; r < 2; ++r) {
    const at::Tensor alone = a->logits(codes.slice(0, r, r + 1));
    std::printf("row %lld alone vs in batch: max abs diff %g\n", (long long)r,
                vamp::test::max_abs_diff(alone, both.slice(0, r, r + 1)));
    VAMP_ASSERT_CLOSE(alone, both.slice(0, r, r + 1), 1e-5);
  }
}
END_TEST

static Suite* transformer_suite() {
  Suite* s = suite_create("transformer");
  TCase* tc = tcase_create("golden");
  tcase_add_test(tc, test_coarse_parity);
  tcase_add_test(tc, test_c2f_parity);
  tcase_add_test(tc, test_coarse_nolora_parity);
  tcase_add_test(tc, test_relative_bucket_table);
  suite_add_tcase(s, tc);
  TCase* api = tcase_create("api");
  tcase_add_test(api, test_accessors);
  tcase_add_test(api, test_bad_codes_rejected);
  tcase_add_test(api, test_bad_checkpoint_names_key);
  tcase_add_test(api, test_random_checkpoint_roundtrip);
  suite_add_tcase(s, api);
  return s;
}

VAMP_TEST_MAIN(transformer_suite)

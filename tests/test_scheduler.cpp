// The scheduler: windows of different streams batched into one forward pass per step give each
// window exactly the tokens it gets alone (golden tiny models, CPU); grouping, timeouts, cancel,
// and StreamSamplers meeting in one shared scheduler.
#include "vamp/codec.h"
#include "vamp/sampler.h"
#include "scheduler.h"
#include "testutil.h"
#include "vamp/vamp.h"

#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

using vamp::test::data;

namespace {

const int K = 14;
const int64_t T = 40;

struct Models {
  std::shared_ptr<vamp::CodecModel> codec;
  std::shared_ptr<vamp::TransformerModel> coarse, c2f;
  Models() {
    codec = vamp::CodecModel::open(data("codec_a.pth"), "cpu");
    coarse = vamp::TransformerModel::open(data("coarse_a.pth"), codec, "cpu");
    c2f = vamp::TransformerModel::open(data("c2f_a.pth"), codec, "cpu");
  }
};

vamp::VampParams params(int steps = 4) {
  vamp::VampParams p;
  p.coarse.steps = steps;
  p.coarse_window = T;
  p.c2f_window = 16;
  return p;
}

// Window i: its own random tokens and its own random mask (codebook 0 and every 4th frame kept).
vamp::Scheduler::Window window(int i, int max_batch, int64_t timeout_ms, int steps = 4) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(uint64_t(100 + i));
  vamp::Scheduler::Window w;
  w.codes = at::randint(0, 1024, {1, K, T}, g, at::kLong);
  w.mask = at::rand({1, K, T}, g).lt(0.3 + 0.1 * i).to(at::kLong);
  w.mask.narrow(1, 0, 1).zero_();
  w.mask.slice(2, 0, T, 4).zero_();
  w.params = params(steps);
  w.seed = uint64_t(7 + 31 * i);
  w.max_batch = max_batch;
  w.timeout = std::chrono::milliseconds(timeout_ms);
  return w;
}

at::Tensor alone(const Models& m, const vamp::Scheduler::Window& w) {
  return vamp::vamp(*m.coarse->transformer(), m.c2f->transformer().get(), w.codes, w.mask, w.params, w.seed);
}

}  // namespace

START_TEST(test_vamp_seed_vector_equals_seed) {
  Models m;
  auto a = window(0, 1, 0), b = window(1, 1, 0);
  at::Tensor codes = at::cat({a.codes, b.codes}), mask = at::cat({a.mask, b.mask});
  at::Tensor one = vamp::vamp(*m.coarse->transformer(), m.c2f->transformer().get(), codes, mask, params(), 5);
  at::Tensor two = vamp::vamp(*m.coarse->transformer(), m.c2f->transformer().get(), codes, mask, params(),
                              std::vector<uint64_t>{5, 6});
  VAMP_ASSERT_EQUAL(one, two);
}
END_TEST

START_TEST(test_batched_equals_alone) {
  // Four windows (different tokens, masks and seeds) meet in one batch; each gets its tokens alone.
  Models m;
  auto sched = vamp::Scheduler::shared(m.coarse, m.c2f);
  ck_assert_ptr_eq(sched.get(), vamp::Scheduler::shared(m.coarse, m.c2f).get());  // one per model pair
  const int n = 4;
  std::vector<std::future<vamp::Scheduler::Result>> results;
  for (int i = 0; i < n; ++i)
    results.push_back(std::async(std::launch::async, [&, i] { return sched->run(window(i, n, 20000)); }));
  for (int i = 0; i < n; ++i) {
    vamp::Scheduler::Result r = results[size_t(i)].get();
    ck_assert_int_eq(r.batch_size, n);
    VAMP_ASSERT_EQUAL(r.tokens, alone(m, window(i, 1, 0)));
  }
  const auto st = sched->stats();
  ck_assert_int_eq(st.batches, 1);
  ck_assert_int_eq(st.windows, n);
  ck_assert_int_eq(st.max_batch_size, n);
}
END_TEST

START_TEST(test_groups_and_timeout) {
  // Different step counts never share a forward pass; a lone window leaves after its timeout.
  Models m;
  auto sched = vamp::Scheduler::shared(m.coarse, m.c2f);
  auto a = std::async(std::launch::async, [&] { return sched->run(window(0, 2, 300, 4)); });
  auto b = std::async(std::launch::async, [&] { return sched->run(window(1, 2, 300, 3)); });
  vamp::Scheduler::Result ra = a.get(), rb = b.get();
  ck_assert_int_eq(ra.batch_size, 1);
  ck_assert_int_eq(rb.batch_size, 1);
  VAMP_ASSERT_EQUAL(ra.tokens, alone(m, window(0, 1, 0, 4)));
  VAMP_ASSERT_EQUAL(rb.tokens, alone(m, window(1, 1, 0, 3)));
  // max_batch 1 runs at once even with a long timeout
  const auto t0 = std::chrono::steady_clock::now();
  ck_assert_int_eq(sched->run(window(2, 1, 60000)).batch_size, 1);
  ck_assert(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
}
END_TEST

START_TEST(test_cancel_waiting_window) {
  Models m;
  auto sched = vamp::Scheduler::shared(m.coarse, m.c2f);
  int owner = 0;
  auto w = window(0, 4, 60000);
  w.owner = &owner;
  auto f = std::async(std::launch::async, [&] { return sched->run(w); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  sched->cancel(&owner);
  bool cancelled = false;
  try {
    f.get();
  } catch (const vamp::Cancelled&) {
    cancelled = true;
  }
  ck_assert(cancelled);
  ck_assert_int_eq(sched->stats().windows, 0);
}
END_TEST

START_TEST(test_stream_samplers_share_batches) {
  // Two streams with different seeds and masks, windows of 24 + 8 context frames, run together
  // (max batch 2) produce what each produces alone; their windows met in batches of 2.
  Models m;
  auto run_stream = [&](int i, const vamp::BatchSettings& b) {
    vamp::SampleSettings s;
    s.steps = 3;
    s.seed = uint64_t(40 + i);
    s.window_frames = 24;
    s.context_frames = 8;
    s.c2f_window_frames = 16;
    vamp::StreamSampler sampler(m.coarse, m.c2f, s, K, b);
    auto w = window(i, 1, 0);
    at::Tensor tok = w.codes[0].t().contiguous(), msk = w.mask[0].t().contiguous();
    std::vector<uint16_t> tokens(size_t(T * K)), out;
    std::vector<uint8_t> mask(size_t(T * K));
    for (int64_t j = 0; j < T * K; ++j)
      tokens[size_t(j)] = uint16_t(tok.data_ptr<int64_t>()[j]), mask[size_t(j)] = uint8_t(msk.data_ptr<int64_t>()[j]);
    sampler.push(tokens.data(), mask.data(), size_t(T));
    std::vector<int> sizes;
    while (sampler.window_ready()) sampler.pull(out), sizes.push_back(sampler.last_batch_size());
    sampler.drain(out);
    sizes.push_back(sampler.last_batch_size());
    return std::make_pair(out, sizes);
  };
  vamp::BatchSettings together;
  together.max_batch = 2;
  together.timeout_ns = 20'000'000'000;
  auto a = std::async(std::launch::async, [&] { return run_stream(0, together); });
  auto b = std::async(std::launch::async, [&] { return run_stream(1, together); });
  auto ra = a.get(), rb = b.get();
  for (int s : ra.second) ck_assert_int_eq(s, 2);  // 24 frames, then the last 16: both streams alike
  for (int s : rb.second) ck_assert_int_eq(s, 2);
  ck_assert(ra.first == run_stream(0, {}).first);
  ck_assert(rb.first == run_stream(1, {}).first);
  ck_assert(ra.first != rb.first);
}
END_TEST

START_TEST(test_stream_window_edges_keep_input_tokens) {
  // Like the reference's coarse_vamp, a window with any kept frame keeps its first and last frame
  // whatever the mask says; those frames must come out as the input's tokens, never as token 0.
  Models m;
  vamp::SampleSettings s;
  s.steps = 2;
  s.window_frames = 16;
  s.context_frames = 4;
  s.c2f_steps = 1;
  vamp::StreamSampler sampler(m.coarse, m.c2f, s, K, {});
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor tok = at::randint(1, 1024, {T, K}, g, at::kLong);  // frame-major, no token 0
  std::vector<uint16_t> tokens(size_t(T * K)), out;
  std::vector<uint8_t> mask(size_t(T * K), 1);  // generate everything but every 5th frame
  for (int64_t t = 0; t < T; ++t)
    for (int k = 0; k < K; ++k) {
      tokens[size_t(t * K + k)] = uint16_t(tok[t][k].item<int64_t>());
      if (t % 5 == 0) mask[size_t(t * K + k)] = 0;
    }
  sampler.push(tokens.data(), mask.data(), size_t(T));
  while (sampler.window_ready()) sampler.pull(out);
  sampler.drain(out);
  ck_assert_int_eq(int(out.size()), int(T * K));
  const int coarse_books = int(m.coarse->transformer()->n_codebooks());
  for (int64_t last : {int64_t(15), int64_t(31), T - 1})  // the last new frame of each window
    for (int k = 0; k < coarse_books; ++k)
      ck_assert_msg(out[size_t(last * K + k)] == tokens[size_t(last * K + k)], "frame %lld codebook %d: %d, input %d",
                    (long long)last, k, out[size_t(last * K + k)], tokens[size_t(last * K + k)]);
}
END_TEST

// Live windows: the steps that fit in the time left at the learned rate (85% of it planned),
// within [min_steps, steps]; the rate follows slower windows at once, faster ones gradually.
START_TEST(test_step_governor) {
  vamp::SampleSettings s;
  s.steps = 12;
  s.c2f_steps = 2;
  vamp::StepGovernor unknown;
  ck_assert_int_eq(unknown.steps_for(s, 4, 0.001), 12);  // no rate yet: all steps
  vamp::StepGovernor g(0.1);                               // 0.1 s per step
  ck_assert_int_eq(g.steps_for(s, 4, 10.0), 12);
  ck_assert_int_eq(g.steps_for(s, 4, 1.0), 6);             // 0.85 / 0.1 - 2 = 6.5
  ck_assert_int_eq(g.steps_for(s, 4, 0.1), 4);             // never below min_steps
  ck_assert_int_eq(g.steps_for(s, 20, 0.1), 12);           // min_steps above steps: steps
  s.feedback_steps = 2;
  ck_assert_int_eq(g.steps_for(s, 1, 1.0), 3);             // (8.5 - 2) / 2 passes
  s.feedback_steps = 1;
  g.observe(s, 2.8);                                       // 14 steps in 2.8 s: 0.2 s per step, at once
  ck_assert_double_eq_tol(g.seconds_per_step(), 0.2, 1e-12);
  g.observe(s, 1.4);                                       // faster: 80% old + 20% new
  ck_assert_double_eq_tol(g.seconds_per_step(), 0.18, 1e-12);
}
END_TEST

// A codec with more codebooks (16) than the c2f model (14): the stream's upper codebooks are
// dropped and every token that leaves is one the models generated or kept, inside the codebook
// (issue 17: they came out as unwritten memory, values like 43624).
START_TEST(test_stream_drops_codebooks_above_the_models) {
  vamp::CodecConfig cfg = vamp::Codec::load(data("codec_a.pth"))->config();
  cfg.n_codebooks = 16;
  const std::string path = vamp::test::scratch("codec_16.pth");
  vamp::save_checkpoint(path, vamp::random_codec_checkpoint(cfg, 3));
  auto codec = vamp::CodecModel::open(path, "cpu");
  auto coarse = vamp::TransformerModel::open(data("coarse_a.pth"), codec, "cpu");
  auto c2f = vamp::TransformerModel::open(data("c2f_a.pth"), codec, "cpu");
  vamp::SampleSettings s;
  s.steps = 2;
  s.c2f_steps = 1;
  s.window_frames = 16;
  s.context_frames = 4;
  vamp::StreamSampler sampler(coarse, c2f, s, 16, {});
  ck_assert_int_eq(sampler.codebooks_out(), c2f->n_codebooks());
  std::vector<uint16_t> tokens(size_t(40 * 16), 7), out;
  sampler.push(tokens.data(), nullptr, 40);
  while (sampler.window_ready()) sampler.pull(out);
  sampler.drain(out);
  ck_assert_int_eq(int(out.size()), 40 * c2f->n_codebooks());
  for (uint16_t t : out) ck_assert_int_lt(t, 1024);
}
END_TEST

START_TEST(test_precision_checked) {
  Models m;
  // fp16 is a CUDA autocast precision: a CPU model refuses it, naming what the CPU runs.
  bool threw = false;
  try {
    vamp::TransformerModel::open(m.coarse->path(), m.coarse->codec(), "cpu", vamp::Precision::FP16);
  } catch (const vamp::SettingsError& e) {
    threw = std::string(e.what()).find("fp32, bf16, int8 or auto") != std::string::npos;
  }
  ck_assert(threw);
  ck_assert(vamp::Scheduler::shared(m.coarse, m.c2f)->precision() == vamp::Precision::FP32);
}
END_TEST

static Suite* scheduler_suite() {
  Suite* s = suite_create("scheduler");
  TCase* tc = tcase_create("batching");
  tcase_add_test(tc, test_vamp_seed_vector_equals_seed);
  tcase_add_test(tc, test_batched_equals_alone);
  tcase_add_test(tc, test_groups_and_timeout);
  tcase_add_test(tc, test_cancel_waiting_window);
  tcase_add_test(tc, test_stream_samplers_share_batches);
  tcase_add_test(tc, test_stream_window_edges_keep_input_tokens);
  tcase_add_test(tc, test_precision_checked);
  tcase_add_test(tc, test_step_governor);
  tcase_add_test(tc, test_stream_drops_codebooks_above_the_models);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(scheduler_suite)

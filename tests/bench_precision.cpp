// Full-size speed of each precision (precision.h) on the CPU, against plain PyTorch eager fp32
// (tests/bench_transformer.py) in the same run: one coarse step (20 layers, d 1280, T 575), one
// c2f step (16 layers, 14 codebooks, T 173), codec encode and decode of 10 s, and a whole 10 s
// vamp (encode, coarse at 36 and 12 steps, c2f 2 steps over 4 windows, decode). Random weights
// (speed does not depend on them). Not a pass/fail test.
//
//   meson test -C build --benchmark precision --verbose
//
// Run every side alike: with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they change
// OpenBLAS's kernels for the fp32 GEMMs of both ours and PyTorch's), on a quiet machine (the load
// average is printed with each number). Environment knobs, to fit a run in ~15 minutes on 2 cores:
//   VAMP_BENCH_THREADS (2)                  torch threads
//   VAMP_BENCH_PRECISIONS (fp32,bf16,int8)  which precisions
//   VAMP_BENCH_REPEAT (2)                   forwards per step measurement (best is printed)
//   VAMP_BENCH_SKIP_PYTHON=1                no PyTorch eager baseline
//   VAMP_BENCH_SKIP_CODEC=1, VAMP_BENCH_SKIP_VAMP=1, VAMP_BENCH_SKIP_VAMP36=1 (36-step vamp),
//   VAMP_BENCH_SKIP_C2F=1
//   VAMP_BENCH_VAMP_PRECISIONS (int8)      precisions of the whole-vamp and live runs (the codec
//                                           takes bf16 for int8)
//   VAMP_BENCH_LIVE (57:172:12,115:115:8,230:115:8,230:115:12)  live windows new:context:steps
//                                           (0 = skip); the row is the window's RTF, not seconds
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "vamp/npy.h"
#include "vamp/precision.h"
#include "vamp/sampler.h"
#include "vamp/transformer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

double load1() {
  double l[3] = {0, 0, 0};
  return getloadavg(l, 3) > 0 ? l[0] : -1.0;
}

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
bool flag(const char* name) { return env(name, "0") != "0"; }

std::vector<vamp::Precision> precisions(const char* var, const std::string& fallback) {
  std::vector<vamp::Precision> out;
  std::stringstream ss(env(var, fallback));
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(vamp::parse_precision(item));
  return out;
}

struct Row {
  std::string what, precision;
  double seconds, load;
};
std::vector<Row> rows;

void record(const std::string& what, const std::string& precision, double s) {
  const double l = load1();
  rows.push_back({what, precision, s, l});
  std::printf("  %-34s %-6s %8.3f s   (load %.2f)\n", what.c_str(), precision.c_str(), s, l);
  std::fflush(stdout);
}

std::vector<at::Tensor> random_codebooks(const vamp::TransformerConfig& cfg, at::Tensor* all) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor t = at::empty({14, cfg.vocab_size, cfg.latent_dim}).normal_(0, 1, gen);
  if (all) *all = t;
  std::vector<at::Tensor> v;
  for (int64_t i = 0; i < 14; ++i) v.push_back(t[i]);
  return v;
}

at::Tensor half_masked(const vamp::TransformerConfig& cfg, int64_t T, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor codes = at::randint(0, cfg.vocab_size, {1, cfg.n_codebooks, T}, gen, at::kLong);
  at::Tensor m = at::rand({1, cfg.n_codebooks, T}, gen).lt(0.5);
  m.narrow(1, 0, cfg.n_conditioning_codebooks).fill_(false);
  return codes.masked_fill(m, cfg.vocab_size);
}

double best_of(int repeat, const std::function<void()>& f) {
  f();  // warm-up (position-bias cache, oneDNN primitive creation)
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const double t = now();
    f();
    best = std::min(best, now() - t);
  }
  return best;
}

// PyTorch eager fp32 forward of a checkpoint (bench_transformer.py), best of `repeat`, seconds.
double python_step(const std::string& script, const vamp::Checkpoint& ck, const at::Tensor& tables,
                   const at::Tensor& codes, int threads, int repeat, const std::string& tag) {
  const std::string dir = env("VAMP_TEST_TMP", "/tmp");
  const std::string w = dir + "/bench_prec_" + tag + ".pth", cb = dir + "/bench_prec_cb.npy",
                    cd = dir + "/bench_prec_codes_" + tag + ".npy";
  vamp::save_checkpoint(w, ck);
  vamp::save_npy(cb, tables);
  vamp::save_npy(cd, codes);
  const std::string cmd = "/usr/bin/python3 " + script + " " + w + " " + cb + " " + cd + " " + std::to_string(threads) +
                          " " + std::to_string(repeat) + " 2>/dev/null";
  double ms = -1;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char line[256];
    while (fgets(line, sizeof line, p)) std::sscanf(line, "python_ms %lf", &ms);
    pclose(p);
  }
  std::remove(w.c_str());
  std::remove(cd.c_str());
  return ms / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string script = argc > 1 ? argv[1] : "";
  const int threads = std::atoi(env("VAMP_BENCH_THREADS", "2").c_str());
  const int repeat = std::atoi(env("VAMP_BENCH_REPEAT", "2").c_str());
  at::set_num_threads(threads);
  const auto precs = precisions("VAMP_BENCH_PRECISIONS", "fp32,bf16,int8");
  const bool python = !flag("VAMP_BENCH_SKIP_PYTHON") && !script.empty() && access("/usr/bin/python3", X_OK) == 0 &&
                      std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
  std::printf("precision benchmark: %d CPU threads, %s\n", threads, vamp::precision_support().summary.c_str());
  std::printf("OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s (unset both for comparable numbers)\n",
              env("OPENBLAS_CORETYPE", "<unset>").c_str(), env("OPENBLAS_L2_SIZE", "<unset>").c_str());

  // ---- transformer steps ----
  struct Stage {
    const char* preset;
    int64_t T;
    const char* label;
  };
  std::vector<Stage> stages{{"full-coarse", 575, "coarse step (T 575, L20)"}};
  if (!flag("VAMP_BENCH_SKIP_C2F")) stages.push_back({"full-c2f", 173, "c2f step (T 173, L16)"});
  std::map<std::string, double> step_s;  // "coarse/int8" -> seconds
  for (const Stage& st : stages) {
    const auto cfg = vamp::TransformerConfig::preset(st.preset);
    at::Tensor tables;
    const auto cbs = random_codebooks(cfg, &tables);
    auto ck = vamp::random_transformer_checkpoint(cfg, 1);
    const at::Tensor codes = half_masked(cfg, st.T, 3);
    std::printf("%s:\n", st.label);
    const std::string key = std::string(st.preset).substr(5);
    for (vamp::Precision p : precs) {
      auto m = vamp::Transformer::from_checkpoint(ck, cbs, at::kCPU, p);
      const std::string name = vamp::precision_name(m->precision());
      const double s = best_of(repeat, [&] { m->token_logits(codes); });
      record(st.label, name, s);
      step_s[key + "/" + name] = s;
    }
    if (python) {
      const double s = python_step(script, ck, tables.slice(0, 0, cfg.n_codebooks).contiguous(), codes, threads, repeat,
                                   key);
      if (s > 0) {
        record(st.label, "eager", s);
        step_s[key + "/eager"] = s;
      }
    }
  }

  // ---- codec ----
  std::map<std::string, double> codec_s;
  std::shared_ptr<vamp::Checkpoint> codec_ck;
  const double seconds = 10.0;
  auto cc = vamp::codec_preset("full");
  const int64_t frames = int64_t(std::ceil(seconds * double(cc.sample_rate) / double(cc.hop_length)));
  at::Tensor audio;
  {
    at::Tensor n = at::arange(frames * cc.hop_length, at::kFloat).div_(double(cc.sample_rate));
    audio = (0.3 * at::sin(n * (2 * M_PI * 220.0)) + 0.2 * at::sin(n * (2 * M_PI * 331.0))).view({1, 1, -1});
  }
  if (!flag("VAMP_BENCH_SKIP_CODEC") || !flag("VAMP_BENCH_SKIP_VAMP"))
    codec_ck = std::make_shared<vamp::Checkpoint>(vamp::random_codec_checkpoint(cc, 1));
  if (!flag("VAMP_BENCH_SKIP_CODEC")) {
    std::printf("codec, 10 s (%lld frames):\n", (long long)frames);
    for (vamp::Precision p : precs) {
      if (p == vamp::Precision::INT8) continue;  // the codec has no int8 path
      auto c = vamp::Codec::from_checkpoint(*codec_ck, at::kCPU, p);
      const std::string name = vamp::precision_name(c->precision());
      c->decode(c->encode(audio.slice(2, 0, 8 * cc.hop_length)));  // warm-up
      double t = now();
      at::Tensor codes = c->encode(audio);
      record("codec encode 10 s", name, now() - t);
      codec_s["encode/" + name] = rows.back().seconds;
      t = now();
      c->decode(codes);
      record("codec decode 10 s", name, now() - t);
      codec_s["decode/" + name] = rows.back().seconds;
    }
  }

  // ---- whole vamp ----
  if (!flag("VAMP_BENCH_SKIP_VAMP")) {
    const auto vprecs = precisions("VAMP_BENCH_VAMP_PRECISIONS", "int8");
    std::vector<int> steps_list{12};
    if (!flag("VAMP_BENCH_SKIP_VAMP36")) steps_list.insert(steps_list.begin(), 36);
    const auto ccfg = vamp::TransformerConfig::preset("full-coarse"), fcfg = vamp::TransformerConfig::preset("full-c2f");
    auto ck_c = vamp::random_transformer_checkpoint(ccfg, 1), ck_f = vamp::random_transformer_checkpoint(fcfg, 2);
    std::printf("vamp 10 s (encode, coarse window 575, c2f 2 steps x 4 windows of 173, decode):\n");
    for (vamp::Precision p : vprecs) {
      auto codec = vamp::Codec::from_checkpoint(*codec_ck, at::kCPU, p);
      std::vector<at::Tensor> cbs;
      for (int i = 0; i < 14; ++i) cbs.push_back(codec->codebook(i));
      auto coarse = vamp::Transformer::from_checkpoint(ck_c, cbs, at::kCPU, p);
      auto c2f = vamp::Transformer::from_checkpoint(ck_f, cbs, at::kCPU, p);
      const std::string name = vamp::precision_name(coarse->precision());
      for (int steps : steps_list) {
        vamp::VampParams vp;
        vp.coarse.steps = steps;
        double t = now();
        at::Tensor codes = codec->encode(audio);
        const double te = now() - t;
        at::Tensor mask = at::ones_like(codes);
        mask.narrow(2, 0, codes.size(2)).slice(2, 0, codes.size(2), 7).fill_(0);  // periodic prompt 7
        t = now();
        at::Tensor out = vamp::vamp(*coarse, c2f.get(), codes, mask, vp, 0);
        const double tv = now() - t;
        t = now();
        codec->decode(out);
        const double td = now() - t;
        char label[96];
        std::snprintf(label, sizeof label, "vamp 10 s, %d coarse steps", steps);
        record(label, name + "/" + vamp::precision_name(codec->precision()), te + tv + td);
        std::printf("    (encode %.2f s, coarse + c2f %.2f s, decode %.2f s; RTF %.2f)\n", te, tv, td,
                    (te + tv + td) / seconds);
      }
    }
  }

  // ---- live windows: what one StreamSampler window costs (encode of the new frames with the
  // encoder's context, coarse + c2f over context + new frames with the context kept, decode of
  // the new frames with the decoder's context), for "new:context:steps" settings ----
  const std::string live = env("VAMP_BENCH_LIVE", "57:172:12,115:115:8,230:115:8,230:115:12");
  if (live != "0") {
    const auto lprecs = precisions("VAMP_BENCH_VAMP_PRECISIONS", "int8");
    if (!codec_ck) codec_ck = std::make_shared<vamp::Checkpoint>(vamp::random_codec_checkpoint(cc, 1));
    const auto ccfg = vamp::TransformerConfig::preset("full-coarse"), fcfg = vamp::TransformerConfig::preset("full-c2f");
    auto ck_c = vamp::random_transformer_checkpoint(ccfg, 1), ck_f = vamp::random_transformer_checkpoint(fcfg, 2);
    std::printf("live windows (new:context frames, coarse steps; c2f 2 steps):\n");
    for (vamp::Precision p : lprecs) {
      auto codec = vamp::Codec::from_checkpoint(*codec_ck, at::kCPU, p);
      std::vector<at::Tensor> cbs;
      for (int i = 0; i < 14; ++i) cbs.push_back(codec->codebook(i));
      auto coarse = vamp::Transformer::from_checkpoint(ck_c, cbs, at::kCPU, p);
      auto c2f = vamp::Transformer::from_checkpoint(ck_f, cbs, at::kCPU, p);
      const std::string name = std::string(vamp::precision_name(coarse->precision())) + "/" +
                               vamp::precision_name(codec->precision());
      std::stringstream ss(live);
      for (std::string item; std::getline(ss, item, ',');) {
        int64_t nw = 0, ctx = 0;
        int steps = 0;
        if (std::sscanf(item.c_str(), "%lld:%lld:%d", (long long*)&nw, (long long*)&ctx, &steps) != 3) continue;
        const int64_t ec = codec->encoder_context_frames(), dc = codec->decoder_context_frames();
        const at::Tensor a_in = audio.slice(2, 0, (nw + 2 * ec) * cc.hop_length);
        vamp::VampParams vp;
        vp.coarse.steps = steps;
        vp.coarse_window = ctx + nw;
        auto one = [&](double* te, double* tv, double* td) {
          double t = now();
          at::Tensor codes = codec->encode(a_in);
          *te = now() - t;
          at::Tensor win = codes.slice(2, 0, 1).repeat({1, 1, ctx + nw});  // context + new frames
          at::Tensor mask = at::ones_like(win);
          mask.narrow(2, 0, ctx).fill_(0);
          mask.narrow(2, ctx, nw).slice(2, 0, nw, 7).fill_(0);  // periodic prompt 7 in the new part
          t = now();
          at::Tensor out = vamp::vamp(*coarse, c2f.get(), win, mask, vp, 0);
          *tv = now() - t;
          t = now();
          codec->decode(out.slice(2, std::max<int64_t>(0, ctx - dc), ctx + nw));
          *td = now() - t;
        };
        double te, tv, td;
        one(&te, &tv, &td);  // warm-up (bias cache for this length, oneDNN primitives)
        one(&te, &tv, &td);
        const double dur = double(nw * cc.hop_length) / double(cc.sample_rate);
        char label[96];
        std::snprintf(label, sizeof label, "live %s, window RTF", item.c_str());
        record(label, name, (te + tv + td) / dur);
        std::printf("    (window %.2f s of new audio: encode %.2f s, coarse + c2f %.2f s, decode %.2f s)\n", dur, te,
                    tv, td);
      }
    }
  }

  std::printf("\nsummary (seconds; eager = PyTorch eager fp32 of the same weights; load average at each number):\n");
  for (const Row& r : rows) std::printf("  %-34s %-10s %8.3f   load %.2f\n", r.what.c_str(), r.precision.c_str(), r.seconds, r.load);
  if (step_s.count("coarse/eager"))
    for (const char* p : {"fp32", "bf16", "int8"})
      if (step_s.count(std::string("coarse/") + p))
        std::printf("  coarse step speedup over eager, %s: %.2fx\n", p, step_s["coarse/eager"] / step_s[std::string("coarse/") + p]);
  return 0;
}

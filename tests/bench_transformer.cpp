// One full-size coarse forward (20 layers, d 1280, 20 heads, T 575, random weights) on the CPU,
// ours against the same math in plain PyTorch eager (tests/bench_transformer.py) when
// /usr/bin/python3 has torch. Prints milliseconds and the ratio; not a pass/fail test.
//
//   bench_transformer [PY_SCRIPT] [--threads N] [--frames T] [--repeat R]
#include "vamp/checkpoint.h"
#include "vamp/npy.h"
#include "vamp/transformer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
  std::string script;
  int threads = 2, repeat = 3;
  int64_t T = 575;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--frames" && i + 1 < argc) T = std::atoll(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else script = a;
  }
  at::set_num_threads(threads);
  const char* tmp = std::getenv("VAMP_TEST_TMP");
  const std::string dir = tmp ? tmp : "/tmp";
  const std::string weights = dir + "/bench_full_coarse.pth", cb_path = dir + "/bench_codebooks.npy",
                    codes_path = dir + "/bench_codes.npy", logits_path = dir + "/bench_logits.npy";

  const auto cfg = vamp::TransformerConfig::preset("full-coarse");
  std::printf("transformer forward: coarse, %lld layers, d %lld, %lld heads, T %lld, batch 1, %d CPU threads\n",
              (long long)cfg.n_layers, (long long)cfg.embedding_dim, (long long)cfg.n_heads, (long long)T, threads);
  auto ck = vamp::random_transformer_checkpoint(cfg, 1);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor tables = at::empty({cfg.n_codebooks, cfg.vocab_size, cfg.latent_dim}).normal_(0, 1, gen);
  std::vector<at::Tensor> codebooks;
  for (int64_t i = 0; i < cfg.n_codebooks; ++i) codebooks.push_back(tables[i]);
  auto model = vamp::Transformer::from_checkpoint(ck, codebooks);
  at::Tensor codes = at::randint(0, cfg.vocab_size, {1, cfg.n_codebooks, T}, gen, at::kLong);
  codes.masked_fill_(at::rand({1, cfg.n_codebooks, T}, gen).lt(0.5), cfg.vocab_size);  // half masked

  at::Tensor logits = model->logits(codes);  // warm-up (also fills the position-bias cache)
  double best = 1e30;
  auto measure = [&] {
    for (int r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      logits = model->logits(codes);
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  };
  measure();
  std::printf("ours_ms %.1f  (best of %d)\n", best, repeat);

  const char* py = "/usr/bin/python3";
  if (script.empty() || access(py, X_OK) != 0 ||
      std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    std::printf("python baseline: skipped (needs /usr/bin/python3 with torch and the script path)\n");
    return 0;
  }
  vamp::save_checkpoint(weights, ck);
  vamp::save_npy(cb_path, tables);
  vamp::save_npy(codes_path, codes);
  vamp::save_npy(logits_path, logits);
  ck = vamp::Checkpoint();
  const std::string cmd = std::string(py) + " " + script + " " + weights + " " + cb_path + " " + codes_path + " " +
                          std::to_string(threads) + " " + std::to_string(repeat) + " " + logits_path;
  FILE* p = popen(cmd.c_str(), "r");
  double py_ms = 0;
  char line[256];
  while (p && fgets(line, sizeof line, p)) {
    std::printf("%s", line);
    std::sscanf(line, "python_ms %lf", &py_ms);
  }
  if (p) pclose(p);
  std::remove(weights.c_str());
  measure();  // again after the baseline: best of both rounds, so a busy machine hurts both alike
  std::printf("ours_ms %.1f  (best of %d, both rounds)\n", best, 2 * repeat);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) > 0) std::printf("load average during the run: %.2f\n", load[0]);
  if (py_ms > 0) std::printf("speedup (python eager / ours): %.2fx\n", py_ms / best);
  return 0;
}

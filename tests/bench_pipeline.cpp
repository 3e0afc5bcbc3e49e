// The whole VampNet pipeline's speed: codec encode -> coarse (S steps) -> coarse-to-fine -> codec
// decode, for windows of N seconds, with random weights at the released sizes written by our
// checkpoint writers (codec_preset, TransformerConfig::preset). Then batch scaling: 1, 2, 4, ...
// concurrent streams through the shared scheduler (one forward pass per step for all of them)
// against the same streams run one at a time, in the same run.
//
// Real-time factor (RTF) = processing time / audio time; < 1 is faster than real time.
//   single stream: the stage times of one window and its RTF
//   batch n: aggregate RTF = wall time of n concurrent streams / (n * audio seconds);
//            per-stream RTF = that wall time / audio seconds (what each stream waits);
//            sequential RTF = time of the same n streams one after the other / (n * audio seconds)
//
// Settings (environment; every run prints the ones it used):
//   VAMP_BENCH_PRESET     full | tiny            (default full)
//   VAMP_BENCH_DEVICES    cpu,cuda,...           (default: cuda when present, else cpu)
//   VAMP_BENCH_PRECISIONS fp32,bf16,fp16         (default fp32; bf16/fp16 only run on CUDA)
//   VAMP_BENCH_STEPS      coarse steps           (default 36 on CUDA; 2 on CPU, see below)
//   VAMP_BENCH_C2F_STEPS  coarse-to-fine steps   (default 2, the reference's)
//   VAMP_BENCH_STREAMS    e.g. 1,2,4,8,16        (default 1,2,4,8,16 on CUDA; 1,2 on CPU)
//   VAMP_BENCH_SECONDS    window length          (default 10)
//   VAMP_BENCH_THREADS    CPU threads            (default 2)
//   VAMP_BENCH_TIMEOUT_MS batch timeout          (default 2000: streams start together anyway)
// The CPU defaults keep a 2-core run under ~10 minutes: a full-size coarse forward over 10 s takes
// seconds there, so 36 steps would take minutes per window. The report also gives the coarse
// forward time (one more step) and the RTF projected to 36 coarse steps from it.
// Run with: meson test -C build --benchmark pipeline --verbose
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "scheduler.h"
#include "vamp/transformer.h"
#include "vamp/vamp.h"
#include "rss.h"

#include <ATen/Parallel.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <sstream>
#include <string>
#include <vector>

namespace {

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Timing {
  double encode = 0, sample = 0, decode = 0, total = 0;
  int batch = 0;
};

// One stream's pipeline over one window of audio: encode, sample (through the scheduler),
// decode. Seed and mask differ per stream.
Timing run_stream(const std::shared_ptr<vamp::CodecModel>& codec, const std::shared_ptr<vamp::TransformerModel>& coarse,
                  const std::shared_ptr<vamp::TransformerModel>& c2f, const std::vector<float>& audio,
                  const vamp::SampleSettings& base, const vamp::BatchSettings& batch, int stream) {
  Timing t;
  const double t0 = now();
  vamp::StreamEncoder enc(codec, 0, 1);
  enc.push(audio.data(), audio.size());
  std::vector<uint16_t> tokens;
  enc.drain(tokens);
  const double t1 = now();
  const int K = codec->info().n_codebooks;
  const size_t frames = tokens.size() / size_t(K);
  std::vector<uint8_t> mask(tokens.size());
  for (size_t f = 0; f < frames; ++f)  // keep every (3 + stream % 3)-th frame's coarse codes
    for (int k = 0; k < K; ++k) mask[f * size_t(K) + size_t(k)] = (f % size_t(3 + stream % 3) == 0 && k < 4) ? 0 : 1;
  vamp::SampleSettings s = base;
  s.seed = uint64_t(1000 + stream);
  s.window_frames = int(frames);
  s.context_frames = 0;
  vamp::StreamSampler sampler(coarse, c2f, s, K, batch);
  sampler.push(tokens.data(), mask.data(), frames);
  std::vector<uint16_t> generated;
  sampler.drain(generated);
  t.batch = sampler.last_batch_size();
  const double t2 = now();
  vamp::StreamDecoder dec(codec, K, 1);
  dec.push(generated.data(), generated.size() / size_t(K));
  std::vector<float> out;
  dec.drain(out);
  const double t3 = now();
  t.encode = t1 - t0;
  t.sample = t2 - t1;
  t.decode = t3 - t2;
  t.total = t3 - t0;
  return t;
}

}  // namespace

int main() {
  const char* tmp = std::getenv("VAMP_TEST_TMP");
  const std::string dir = tmp ? tmp : "/tmp";
  const std::string preset = env("VAMP_BENCH_PRESET", "full");
  const bool have_cuda = vamp::resolve_device("auto") != "cpu";
  const auto devices = split(env("VAMP_BENCH_DEVICES", have_cuda ? "cuda" : "cpu"));
  const auto precisions = split(env("VAMP_BENCH_PRECISIONS", "fp32"));
  const double seconds = std::atof(env("VAMP_BENCH_SECONDS", "10").c_str());
  const int threads = std::atoi(env("VAMP_BENCH_THREADS", "2").c_str());
  const int c2f_steps = std::atoi(env("VAMP_BENCH_C2F_STEPS", "2").c_str());
  const int64_t timeout_ms = std::atoll(env("VAMP_BENCH_TIMEOUT_MS", "2000").c_str());
  vamp::set_cpu_threads(threads);

  // Random weights at the chosen size, written once by our checkpoint writers.
  const std::string codec_path = dir + "/bench_pipeline_codec_" + preset + ".pth";
  const std::string coarse_path = dir + "/bench_pipeline_coarse_" + preset + ".pth";
  const std::string c2f_path = dir + "/bench_pipeline_c2f_" + preset + ".pth";
  if (access(codec_path.c_str(), R_OK) != 0)
    vamp::save_checkpoint(codec_path, vamp::random_codec_checkpoint(vamp::codec_preset(preset), 1));
  if (access(coarse_path.c_str(), R_OK) != 0)
    vamp::save_checkpoint(coarse_path,
                          vamp::random_transformer_checkpoint(vamp::TransformerConfig::preset(preset + "-coarse"), 2));
  if (access(c2f_path.c_str(), R_OK) != 0)
    vamp::save_checkpoint(c2f_path,
                          vamp::random_transformer_checkpoint(vamp::TransformerConfig::preset(preset + "-c2f"), 3));

  std::printf("bench_pipeline: preset %s, %.1f s windows, c2f steps %d, CPU threads %d, batch timeout %lld ms\n",
              preset.c_str(), seconds, c2f_steps, threads, (long long)timeout_ms);
  for (const std::string& device_req : devices) {
    std::string device;
    try {
      device = vamp::resolve_device(device_req);
    } catch (const std::exception& e) {
      std::printf("\n[%s] skipped: %s\n", device_req.c_str(), e.what());
      continue;
    }
    const bool cuda = device != "cpu";
    const int steps = std::atoi(env("VAMP_BENCH_STEPS", cuda ? "36" : "2").c_str());
    std::vector<int> streams;
    for (const auto& n : split(env("VAMP_BENCH_STREAMS", cuda ? "1,2,4,8,16" : "1,2"))) streams.push_back(std::atoi(n.c_str()));
    int max_streams = 1;
    for (int n : streams) max_streams = std::max(max_streams, n);

    const double rss0 = rss_mb();
    auto codec = vamp::CodecModel::open(codec_path, device);
    auto coarse = vamp::TransformerModel::open(coarse_path, codec, device);
    auto c2f = vamp::TransformerModel::open(c2f_path, codec, device);
    const int rate = codec->info().sample_rate;
    std::vector<float> audio(size_t(seconds * rate));
    for (size_t i = 0; i < audio.size(); ++i) {  // a chord with a little noise
      const double x = double(i) / rate;
      audio[i] = float(0.2 * std::sin(2 * M_PI * 220 * x) + 0.1 * std::sin(2 * M_PI * 277.2 * x) +
                       0.05 * std::sin(2 * M_PI * 330 * x) + 0.01 * std::sin(12345.678 * double(i * i % 9973)));
    }

    for (const std::string& precision : precisions) {
      if (precision != "fp32" && !cuda) continue;
      // On CUDA bf16/fp16 are the models' autocast precision (plan_precision): one registry entry each.
      coarse = vamp::TransformerModel::open(coarse_path, codec, device, vamp::parse_precision(precision));
      c2f = vamp::TransformerModel::open(c2f_path, codec, device, vamp::parse_precision(precision));
      vamp::SampleSettings s;
      s.steps = steps;
      s.c2f_steps = c2f_steps;
      vamp::BatchSettings alone;
      alone.max_batch = 1;
      std::printf("\n[%s %s] coarse steps %d, streams {", device.c_str(), precision.c_str(), steps);
      for (size_t i = 0; i < streams.size(); ++i) std::printf("%s%d", i ? "," : "", streams[i]);
      std::printf("}; models loaded: +%.0f MB RSS\n", rss_mb() - rss0);

      if (cuda) run_stream(codec, coarse, c2f, audio, s, alone, 0);  // warm-up (allocator, kernels)
      // One coarse forward over a whole window at batch 1: the cost of one more coarse step.
      double per_step = 0;
      {
        const int64_t T = int64_t(std::ceil(seconds * rate / codec->info().hop_length));
        at::Tensor z = at::randint(0, 1024, {1, coarse->n_codebooks(), T}, at::kLong);
        const auto& m = *coarse->transformer();
        m.token_logits(z).to(at::kCPU);  // warm: position bias table, allocator, kernels
        const double f0 = now();
        m.token_logits(z).to(at::kCPU);
        per_step = now() - f0;
      }

      // The same work one stream at a time (max batch 1), stream i with its own seed and mask;
      // stream 0's run is also the single-stream breakdown.
      std::vector<double> sequential(size_t(max_streams) + 1, 0.0);
      Timing t;
      for (int i = 0; i < max_streams; ++i) {
        const Timing ti = run_stream(codec, coarse, c2f, audio, s, alone, i);
        if (i == 0) t = ti;
        sequential[size_t(i) + 1] = sequential[size_t(i)] + ti.total;
      }
      const double projected = t.total + per_step * double(36 - steps);
      std::printf("  one stream: encode %.2f s, sample %.2f s (one coarse forward %.3f s), decode %.2f s; "
                  "total %.2f s, RTF %.3f\n",
                  t.encode, t.sample, per_step, t.decode, t.total, t.total / seconds);
      if (steps != 36)
        std::printf("  projected to 36 coarse steps: %.2f s per window, RTF %.3f\n", projected, projected / seconds);

      std::printf("  %-8s %-10s %-14s %-15s %-15s %-8s %s\n", "streams", "wall s", "aggregate RTF", "per-stream RTF",
                  "sequential RTF", "speedup", "batch sizes");
      for (int n : streams) {
        vamp::BatchSettings together;
        together.max_batch = n;
        together.timeout_ns = timeout_ms * 1000000;
        const double w0 = now();
        std::vector<std::future<Timing>> runs;
        for (int i = 0; i < n; ++i)
          runs.push_back(std::async(std::launch::async,
                                    [&, i] { return run_stream(codec, coarse, c2f, audio, s, together, i); }));
        std::string sizes;
        for (auto& r : runs) sizes += (sizes.empty() ? "" : ",") + std::to_string(r.get().batch);
        const double wall = now() - w0;
        std::printf("  %-8d %-10.2f %-14.3f %-15.3f %-15.3f %-8.2f %s\n", n, wall, wall / (n * seconds), wall / seconds,
                    sequential[size_t(n)] / (n * seconds), sequential[size_t(n)] / wall, sizes.c_str());
      }
      std::fflush(stdout);
    }
  }
  return 0;
}

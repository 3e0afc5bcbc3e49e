// Full-size codec on the CPU with 2 threads: writes the released-size random codec with our
// writer, loads it, then encodes and decodes 10 s of audio. Prints real-time factors (processing
// time / audio duration; < 1 is faster than real time) and the process's peak RSS.
// Run with: meson test -C build --benchmark codec --verbose
#include "vamp/checkpoint.h"
#include "vamp/codec.h"

#include <ATen/Parallel.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;
}

}  // namespace

int main() {
  const char* tmp = std::getenv("VAMP_TEST_TMP");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/bench_codec_full.pth";
  const double seconds = 10.0;

  // Generate and write the checkpoint in a child, so the peak RSS below is the codec's own.
  double t = now();
  pid_t pid = fork();
  if (pid == 0) {
    try {
      vamp::save_checkpoint(path, vamp::random_codec_checkpoint(vamp::codec_preset("full"), 1));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_codec: %s\n", e.what());
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  std::printf("write full random codec: %.2f s\n", now() - t);

  at::set_num_threads(2);
  t = now();
  auto codec = vamp::Codec::load(path);
  std::printf("load (read, verify, fold weight norm): %.2f s, peak RSS %.0f MB\n", now() - t, peak_rss_mb());
  std::remove(path.c_str());
  const auto& c = codec->config();
  std::printf("codec %s: encoder_dim %lld (%zu stages), decoder_dim %lld (%zu stages), %lld x %lld x %lld, hop %lld\n",
              codec->id().c_str(), (long long)c.encoder_dim, c.encoder_rates.size(), (long long)c.decoder_dim,
              c.decoder_rates.size(), (long long)c.n_codebooks, (long long)c.codebook_size, (long long)c.codebook_dim,
              (long long)c.hop_length);

  const int64_t frames = int64_t(std::ceil(seconds * double(c.sample_rate) / double(c.hop_length)));
  at::Tensor n = at::arange(frames * c.hop_length, at::kFloat).div_(double(c.sample_rate));
  at::Tensor audio = (0.3 * at::sin(n * (2 * M_PI * 220.0)) + 0.2 * at::sin(n * (2 * M_PI * 331.0)) +
                      0.05 * at::randn(n.sizes(), at::kFloat))
                         .view({1, 1, -1});
  const double dur = double(audio.size(2)) / double(c.sample_rate);

  codec->decode(codec->encode(audio.slice(2, 0, 8 * c.hop_length)));  // warm-up
  t = now();
  at::Tensor codes = codec->encode(audio);
  const double te = now() - t;
  std::printf("encode %.2f s of audio (%lld frames): %.2f s, RTF %.3f, peak RSS %.0f MB\n", dur, (long long)frames, te,
              te / dur, peak_rss_mb());
  t = now();
  at::Tensor out = codec->decode(codes);
  const double td = now() - t;
  std::printf("decode %lld frames: %.2f s, RTF %.3f, peak RSS %.0f MB\n", (long long)frames, td, td / dur, peak_rss_mb());
  if (!out.isfinite().all().item<bool>()) {
    std::printf("decoded audio is not finite\n");
    return 1;
  }
  std::printf("threads %d, decoded std %.4f\n", at::get_num_threads(), out.std().item<double>());
  return 0;
}

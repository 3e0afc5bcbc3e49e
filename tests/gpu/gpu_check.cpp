// Golden parity on CUDA (run by tests/gpu/check.sh on a GPU machine; plain main, no libcheck).
//   1. transformer logits on CUDA in fp32 against golden_transformer_a: max abs diff <= 1e-3 (FAIL)
//   2. the same in bf16/fp16 under the scheduler's autocast: reported, with a loose bound (FAIL > 0.5)
//   3. the app's flow (golden_interface_a, app_default_b1) on CUDA fp32: tokens reported against the
//      golden ones (sampling draws on the CPU, but logits differ in the last bits, so tokens may too)
//   4. scheduler on CUDA: a batch of 4 windows against each window alone; differing tokens reported
//   5. codec decode on CUDA (polyphase upsamplers, Snake) against golden_codec_a: max abs diff
//      <= 1e-4 in fp32 (FAIL); with cuDNN's default TF32 convolutions reported; encode's codes reported
// Exit status 1 when a FAIL line was printed. Usage: gpu_check [cuda device, default "cuda"] [codec]
// ("codec": check 5 alone, which needs only codec_a.pth and golden_codec_a.pt).
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "vamp/sampler.h"
#include "scheduler.h"
#include "vamp/transformer.h"
#include "vamp/vamp.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <string>
#include <vector>

namespace {

int failures = 0;

std::string data(const std::string& name) {
  const char* dir = std::getenv("VAMP_TEST_DATA");
  return std::string(dir ? dir : "tests/data") + "/" + name;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
  if (!ok) ++failures;
}

void set_autocast(const std::string& precision, bool on) {
  if (precision == "fp32") return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(at::kCUDA, precision == "bf16" ? at::kBFloat16 : at::kHalf);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
  at::autocast::set_autocast_gpu_dtype(precision == "bf16" ? at::kBFloat16 : at::kHalf);
  at::autocast::set_enabled(on);
#endif
  if (!on) at::autocast::clear_cache();
}

// Checks 1-4: the transformers, the app's flow and the scheduler.
void check_transformers(const std::string& device) {
  const auto golden = vamp::load_tensor_dict(data("golden_transformer_a.pt"));
  auto codec = vamp::CodecModel::open(data("codec_a.pth"), device);
  auto coarse = vamp::TransformerModel::open(data("coarse_a.pth"), codec, device);
  auto c2f = vamp::TransformerModel::open(data("c2f_a.pth"), codec, device);

  // 1 + 2: logits
  for (const std::string name : {"coarse", "c2f"}) {
    const auto& m = name == "coarse" ? coarse : c2f;
    const at::Tensor zm = golden.at(name + "/z_masked"), ref = golden.at(name + "/logits");
    for (const std::string precision : {"fp32", "bf16", "fp16"}) {
      set_autocast(precision, true);
      at::Tensor logits = m->transformer()->logits(zm);
      set_autocast(precision, false);
      const double d = max_diff(logits, ref);
      char line[200];
      std::snprintf(line, sizeof line, "%s logits %s on %s: max abs diff %.3g (bound %g)", name.c_str(),
                    precision.c_str(), device.c_str(), d, precision == "fp32" ? 1e-3 : 0.5);
      check(d <= (precision == "fp32" ? 1e-3 : 0.5), line);
    }
  }

  // 3: the app's flow on CUDA
  {
    const auto g = vamp::load_tensor_dict(data("golden_interface_a.pt"));
    vamp::VampParams p;
    p.coarse.steps = 4;
    p.coarse_window = 345;
    p.c2f_window = 207;
    at::Tensor coarse_out;
    at::Tensor out = vamp::vamp(*coarse->transformer(), c2f->transformer().get(), g.at("app_default_b1/codes"),
                                g.at("app_default_b1/mask"), p, 1234, &coarse_out);
    const auto differ = [](const at::Tensor& a, const at::Tensor& b) { return a.ne(b).sum().item<int64_t>(); };
    std::printf("INFO app_default_b1 on %s: coarse %lld / %lld tokens differ from golden, final %lld / %lld\n",
                device.c_str(), (long long)differ(coarse_out, g.at("app_default_b1/coarse_out")),
                (long long)coarse_out.numel(), (long long)differ(out, g.at("app_default_b1/out_codes")),
                (long long)out.numel());
  }

  // 4: batched windows on CUDA against each alone
  {
    auto sched = vamp::Scheduler::shared(coarse, c2f);
    std::vector<vamp::Scheduler::Window> ws;
    for (int i = 0; i < 4; ++i) {
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(100 + i));
      vamp::Scheduler::Window w;
      w.codes = at::randint(0, 1024, {1, 14, 60}, gen, at::kLong);
      w.mask = at::rand({1, 14, 60}, gen).lt(0.5).to(at::kLong);
      w.mask.narrow(1, 0, 1).zero_();
      w.params.coarse.steps = 6;
      w.params.coarse_window = 60;
      w.params.c2f_window = 30;
      w.seed = uint64_t(5 + i);
      w.max_batch = 4;
      w.timeout = std::chrono::seconds(30);
      ws.push_back(w);
    }
    std::vector<std::future<vamp::Scheduler::Result>> rs;
    for (int i = 0; i < 4; ++i) rs.push_back(std::async(std::launch::async, [&, i] { return sched->run(ws[size_t(i)]); }));
    int64_t differ = 0, total = 0;
    int batch = 0;
    for (int i = 0; i < 4; ++i) {
      auto r = rs[size_t(i)].get();
      batch = r.batch_size;
      at::Tensor alone = vamp::vamp(*coarse->transformer(), c2f->transformer().get(), ws[size_t(i)].codes,
                                    ws[size_t(i)].mask, ws[size_t(i)].params, ws[size_t(i)].seed);
      differ += r.tokens.ne(alone).sum().item<int64_t>();
      total += alone.numel();
    }
    check(batch == 4, "scheduler on " + device + " ran a batch of " + std::to_string(batch) + " (want 4)");
    std::printf("INFO batch of 4 vs alone on %s: %lld / %lld tokens differ (CUDA GEMMs may round differently "
                "by batch size; on the CPU this is exactly 0)\n",
                device.c_str(), (long long)differ, (long long)total);
  }
}

// Check 5: the codec.
void check_codec(const std::string& device) {
  const auto g = vamp::load_tensor_dict(data("golden_codec_a.pt"));
  auto c = vamp::Codec::load(data("codec_a.pth"), at::Device(device));
  // cuDNN convolutions run in TF32 by default (10-bit mantissa): the bound holds for full fp32,
  // and the TF32 result is reported.
  auto& ctx = at::globalContext();
  const bool tf32 = ctx.allowTF32CuDNN();
  for (const bool allow : {false, true}) {
    ctx.setAllowTF32CuDNN(allow);
    const double d = max_diff(c->decode(g.at("rvq_codes")), g.at("decoded_from_codes"));
    const at::Tensor codes = c->encode(g.at("audio_padded")).to(at::kCPU);
    const std::string what = "codec on " + device + (allow ? ", TF32 convolutions" : ", fp32") +
                             ": decode max abs diff " + std::to_string(d);
    if (allow) std::printf("INFO %s\n", what.c_str());
    else check(d <= 1e-4, what + " (bound 1e-4)");
    std::printf("INFO   encode: %lld of %lld codes differ from golden (near ties may flip)\n",
                (long long)(codes != g.at("rvq_codes")).sum().item<int64_t>(), (long long)codes.numel());
  }
  ctx.setAllowTF32CuDNN(tf32);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string device = vamp::resolve_device(argc > 1 ? argv[1] : "cuda");
  const std::string only = argc > 2 ? argv[2] : "";  // "codec": check 5 alone
  std::printf("gpu_check on %s (libtorch %s)%s%s\n", device.c_str(), TORCH_VERSION, only.empty() ? "" : ", only ",
              only.c_str());
  if (only != "codec") check_transformers(device);
  check_codec(device);
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}

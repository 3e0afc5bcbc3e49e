// precision: the numeric format the transformer and codec run their heavy layers in.
//
//   fp32  exact against the reference (the default; the goldens are checked in fp32)
//   bf16  weights stored and GEMMs/convolutions run in bfloat16 through oneDNN (mkldnn), with
//         fp32 accumulation; norms, softmax, residual sums stay fp32
//   int8  transformer only: dynamic quantization (weights int8 per output channel at load,
//         activations quantized per tensor per call, as torch's quantize_dynamic) of the QKV and
//         w_1 GEMMs (~70% of the MACs); fc, w_2 and the classifier run bf16 (they lose most under
//         int8; see transformer.cpp). Needs a quantized engine for x86 (fbgemm/x86/onednn).
//   fp16  CUDA only: the transformers' passes autocast to float16 (weights stay fp32)
//   auto  the fastest the device and this libtorch support (CPU: int8 > bf16 > fp32, the codec
//         bf16 > fp32; CUDA: bf16 autocast)
//
// On CUDA, bf16 and fp16 are autocast precisions of the transformers (weights fp32, the
// scheduler's passes in 16 bit); on the CPU the weights are converted once at load. plan_precision
// is the one place that decides, for a model on a device.
//
// Torch-free, so the plugin and the CLI can parse and print it.
#pragma once

#include <string>

namespace vamp {

enum class Precision { Auto, FP32, BF16, FP16, INT8 };

// "auto", "fp32", "bf16", "fp16", "int8" (also "float32", "bfloat16", "float16", "half", "qint8";
// case-insensitive).
// Throws std::invalid_argument naming the accepted values.
Precision parse_precision(const std::string& s);
const char* precision_name(Precision p);

// What this machine and libtorch can run fast.
struct PrecisionSupport {
  bool bf16 = false;          // oneDNN bf16 kernels usable (libtorch has mkldnn; CPU has AVX512-BF16 or AMX)
  bool bf16_native = false;   // the CPU has AVX512-BF16 / AMX-BF16 (else bf16 is emulated and slower)
  bool int8 = false;          // a quantized engine with x86 int8 GEMMs (fbgemm, x86 or onednn)
  bool vnni = false;          // AVX512-VNNI / AVX-VNNI / AMX-INT8
  std::string qengine;        // the quantized engine int8 uses ("fbgemm", "x86", "onednn"), or ""
  std::string summary;        // one line for logs
};
const PrecisionSupport& precision_support();

// Resolves Auto and unsupported requests to what will actually run. for_codec: the codec has no
// int8 path (int8 -> bf16). *note (when given) receives a sentence when the request was changed.
Precision resolve_precision(Precision requested, bool for_codec, std::string* note = nullptr);

// What a model runs on its device. CPU: the weights are converted at load (resolve_precision;
// fp16 is refused) and the arithmetic follows them. CUDA, transformers: fp32 weights, passes
// autocast to bf16 or fp16 (auto = bf16; int8 is refused); the codec converts its weights as on
// the CPU (fp16 taken as bf16). Throws vamp::SettingsError (errors.h), saying what the device runs.
struct PrecisionPlan {
  Precision weights = Precision::FP32;   // requested precision of the weights, for resolve_precision
  Precision autocast = Precision::FP32;  // arithmetic of a transformer's passes on CUDA
};
PrecisionPlan plan_precision(Precision requested, bool on_cuda, bool for_codec);

}  // namespace vamp

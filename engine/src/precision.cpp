// precision: parsing, CPU feature detection and the auto choice (see precision.h).
#include "vamp/precision.h"

#include "vamp/errors.h"

#include <ATen/Context.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace vamp {

Precision parse_precision(const std::string& s) {
  std::string v = s;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (v.empty() || v == "auto") return Precision::Auto;
  if (v == "fp32" || v == "float32" || v == "float") return Precision::FP32;
  if (v == "bf16" || v == "bfloat16") return Precision::BF16;
  if (v == "fp16" || v == "float16" || v == "half") return Precision::FP16;
  if (v == "int8" || v == "qint8") return Precision::INT8;
  throw std::invalid_argument("unknown precision '" + s + "' (expected fp32, bf16, fp16, int8 or auto)");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::Auto: return "auto";
    case Precision::FP32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::FP16: return "fp16";
    case Precision::INT8: return "int8";
  }
  return "?";
}

namespace {

struct CpuFlags {
  bool avx512_bf16 = false, amx_bf16 = false, avx512_vnni = false, avx_vnni = false, amx_int8 = false,
       avx512bw = false;
};

CpuFlags cpu_flags() {
  CpuFlags f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx512bw = b & (1u << 30);
    f.avx512_vnni = c & (1u << 11);
    f.amx_bf16 = d & (1u << 22);
    f.amx_int8 = d & (1u << 25);
    __cpuid_count(7, 1, a, b, c, d);
    f.avx_vnni = a & (1u << 4);
    f.avx512_bf16 = a & (1u << 5);
  }
#endif
  return f;
}

PrecisionSupport detect() {
  PrecisionSupport s;
  const CpuFlags f = cpu_flags();
  s.bf16_native = f.avx512_bf16 || f.amx_bf16;
  // oneDNN runs bf16 on any AVX512BW CPU (emulated without the native instructions).
  s.bf16 = at::hasMKLDNN() && (s.bf16_native || f.avx512bw);
  s.vnni = f.avx512_vnni || f.avx_vnni || f.amx_int8;
  const auto engines = at::globalContext().supportedQEngines();
  auto has = [&](at::QEngine e) { return std::find(engines.begin(), engines.end(), e) != engines.end(); };
  // qnnpack alone is an ARM-oriented engine, slower than fp32 on x86: not counted as int8 support.
  if (has(at::QEngine::FBGEMM)) s.qengine = "fbgemm";
  else if (has(at::QEngine::X86)) s.qengine = "x86";
  else if (has(at::QEngine::ONEDNN)) s.qengine = "onednn";
  s.int8 = !s.qengine.empty();
  std::string eng;
  for (auto e : engines) eng += std::string(eng.empty() ? "" : ",") + c10::toString(e);
  s.summary = std::string("mkldnn ") + (at::hasMKLDNN() ? "yes" : "no") + ", avx512_bf16 " +
              (f.avx512_bf16 ? "yes" : "no") + ", amx " + (f.amx_bf16 ? "yes" : "no") + ", vnni " +
              (s.vnni ? "yes" : "no") + ", quantized engines [" + eng + "]" +
              (s.int8 ? ", int8 via " + s.qengine : ", no x86 int8 engine");
  return s;
}

}  // namespace

const PrecisionSupport& precision_support() {
  static const PrecisionSupport s = detect();
  return s;
}

Precision resolve_precision(Precision p, bool for_codec, std::string* note) {
  const PrecisionSupport& s = precision_support();
  auto say = [&](const std::string& m) {
    if (note) *note = m;
  };
  if (p == Precision::Auto) {
    if (!for_codec && s.int8 && s.vnni) return Precision::INT8;
    if (s.bf16 && s.bf16_native) return Precision::BF16;
    return Precision::FP32;
  }
  if (p == Precision::FP16) {  // an autocast precision (plan_precision); never a weight format
    say("fp16 runs only as CUDA autocast; using fp32");
    return Precision::FP32;
  }
  if (p == Precision::INT8 && for_codec) {
    p = Precision::BF16;
    say("the codec has no int8 path; running it in bf16");
  }
  if (p == Precision::INT8 && !s.int8) {
    const Precision q = s.bf16 ? Precision::BF16 : Precision::FP32;
    say(std::string("int8 requested but this libtorch has no x86 quantized engine (") + s.summary + "); using " +
        precision_name(q));
    return q;
  }
  if (p == Precision::BF16 && !s.bf16) {
    say("bf16 requested but this libtorch/CPU has no oneDNN bf16 kernels (" + s.summary + "); using fp32");
    return Precision::FP32;
  }
  return p;
}

PrecisionPlan plan_precision(Precision requested, bool on_cuda, bool for_codec) {
  if (!on_cuda) {
    if (requested == Precision::FP16)
      throw SettingsError("precision fp16 needs a CUDA device: the CPU runs fp32, bf16, int8 or auto");
    return {requested, Precision::FP32};
  }
  if (for_codec) return {requested == Precision::FP16 ? Precision::BF16 : requested, Precision::FP32};
  if (requested == Precision::INT8)
    throw SettingsError("precision int8 runs on the CPU only: on CUDA use bf16, fp16 or auto");
  return {Precision::FP32, requested == Precision::Auto ? Precision::BF16 : requested};
}

}  // namespace vamp

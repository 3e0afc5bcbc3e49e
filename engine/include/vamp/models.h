// models: the codec and transformers as the plugin and applications hold them, loaded once per
// process and shared. No libtorch types here (nor in the other headers vamp.h includes), so
// callers compile fast and never depend on torch headers.
#pragma once

#include <memory>
#include <string>

#include "cpu_budget.h"  // set_cpu_threads, cpu_cores: the CPU thread budget
#include "errors.h"
#include "precision.h"

namespace vamp {

class Codec;
class Transformer;

// Where a model file of the default set lives: $VAMPNET_MODELS/<file> when that variable is set
// (e.g. a folder holding the released codec.pth, coarse.pth, c2f.pth), else our small trained set
// (models/default). Callers use it when no model path is given.
std::string default_model_path(const std::string& file);

// "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:N". Throws on anything else or on
// a CUDA device this build or machine does not have.
std::string resolve_device(const std::string& device);

struct CodecInfo {
  int sample_rate = 0;
  int hop_length = 0;     // audio samples per token frame
  int n_codebooks = 0;
  int codebook_size = 0;  // the value codebook_size itself means MASK in token buffers
  std::string id;         // 8 hex digits identifying the weights
};

// A loaded codec shared process-wide: one per (file, device), however many elements use it.
// precision (precision.h): fp32 (exact, the default) or bf16 convolutions; auto = the fastest the
// CPU supports; int8 runs the codec in bf16. Each resolved precision is a separate registry entry.
class CodecModel {
 public:
  static std::shared_ptr<CodecModel> open(const std::string& path, const std::string& device,
                                          Precision precision = Precision::FP32);
  const CodecInfo& info() const { return info_; }
  Precision precision() const;             // what runs (fp32 or bf16)
  const std::string& precision_note() const;  // why it differs from the request, or ""
  const std::string& path() const { return path_; }
  const std::shared_ptr<Codec>& codec() const { return codec_; }

 private:
  CodecModel() = default;
  std::shared_ptr<Codec> codec_;
  CodecInfo info_;
  std::string path_;
};

// A VampNet transformer (coarse.pth or c2f.pth) with the codebooks of its codec, shared
// process-wide: one per (file, codec, device).
class TransformerModel {
 public:
  // precision (precision.h, plan_precision): on the CPU fp32 (exact, the default), bf16 or int8
  // weights converted once at load, auto = the fastest the CPU supports; on CUDA fp32, or bf16 /
  // fp16 autocast of the passes (auto = bf16). Throws vamp::SettingsError for a precision the
  // device cannot run. One registry entry per (file, codec, device, resolved precision).
  static std::shared_ptr<TransformerModel> open(const std::string& path, const std::shared_ptr<CodecModel>& codec,
                                                const std::string& device, Precision precision = Precision::FP32);
  Precision precision() const;             // its weights: fp32, bf16 or int8
  Precision autocast() const { return autocast_; }  // its passes on CUDA: fp32, bf16 or fp16
  const std::string& precision_note() const;  // why it differs from the request, or ""
  int n_codebooks() const;
  int n_conditioning_codebooks() const;
  const std::string& path() const { return path_; }
  const std::shared_ptr<Transformer>& transformer() const { return model_; }
  const std::shared_ptr<CodecModel>& codec() const { return codec_; }

 private:
  TransformerModel() = default;
  std::shared_ptr<Transformer> model_;
  Precision autocast_ = Precision::FP32;
  std::shared_ptr<CodecModel> codec_;
  std::string path_;
};

}  // namespace vamp

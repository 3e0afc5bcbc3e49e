// models: default models, device selection and the process-wide model registry (one loaded model
// per file and device), models.h.
#include "vamp/models.h"

#include "vamp/codec.h"
#include "vamp/transformer.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>
#include <stdexcept>

namespace vamp {
namespace {

std::string canonical(const std::string& path) {
  char* real = realpath(path.c_str(), nullptr);
  if (!real) return path;
  std::string r(real);
  std::free(real);
  return r;
}

}  // namespace

#ifndef VAMP_DEFAULT_MODEL_DIR
#define VAMP_DEFAULT_MODEL_DIR "models"
#endif

std::string default_model_path(const std::string& file) {
  const char* dir = std::getenv("VAMPNET_MODELS");
  return std::string(dir && *dir ? dir : VAMP_DEFAULT_MODEL_DIR) + "/" + file;
}

std::string resolve_device(const std::string& device) {
  const bool cuda = at::hasCUDA();
  if (device.empty() || device == "auto") return cuda ? "cuda" : "cpu";
  if (device == "cpu") return device;
  if (device.rfind("cuda", 0) == 0) {
    at::Device d(device);  // throws on malformed strings
    if (!cuda) throw std::runtime_error("device '" + device + "' requested but this build/machine has no CUDA");
    return d.str();
  }
  throw std::runtime_error("unknown device '" + device + "' (expected auto, cpu, cuda or cuda:N)");
}

std::shared_ptr<CodecModel> CodecModel::open(const std::string& path, const std::string& device,
                                             Precision precision) {
  static std::mutex lock;
  static std::map<std::tuple<std::string, std::string, std::string>, std::weak_ptr<CodecModel>> loaded;
  const std::string dev = resolve_device(device);
  const PrecisionPlan plan = plan_precision(precision, at::Device(dev).is_cuda(), /*for_codec=*/true);
  const auto key = std::make_tuple(canonical(path), dev, std::string(precision_name(resolve_precision(plan.weights, true))));
  std::lock_guard<std::mutex> guard(lock);
  if (auto existing = loaded[key].lock()) return existing;
  std::shared_ptr<CodecModel> m(new CodecModel());
  m->codec_ = Codec::load(path, at::Device(dev), plan.weights);
  const auto& c = m->codec_->config();
  m->info_ = {int(c.sample_rate), int(c.hop_length), int(c.n_codebooks), int(c.codebook_size), m->codec_->id()};
  m->path_ = path;
  loaded[key] = m;
  return m;
}

std::shared_ptr<TransformerModel> TransformerModel::open(const std::string& path,
                                                         const std::shared_ptr<CodecModel>& codec,
                                                         const std::string& device, Precision precision) {
  static std::mutex lock;
  static std::map<std::tuple<std::string, std::string, std::string, std::string, Precision>,
                  std::weak_ptr<TransformerModel>>
      loaded;
  const std::string dev = resolve_device(device);
  const PrecisionPlan plan = plan_precision(precision, at::Device(dev).is_cuda(), /*for_codec=*/false);
  const auto key = std::make_tuple(canonical(path), canonical(codec->path()), dev,
                                   std::string(precision_name(resolve_precision(plan.weights, false))), plan.autocast);
  std::lock_guard<std::mutex> guard(lock);
  if (auto existing = loaded[key].lock()) return existing;
  std::vector<at::Tensor> codebooks;
  for (int i = 0; i < codec->info().n_codebooks; ++i) codebooks.push_back(codec->codec()->codebook(i));
  std::shared_ptr<TransformerModel> m(new TransformerModel());
  m->model_ = Transformer::load(path, std::move(codebooks), at::Device(dev), plan.weights);
  m->autocast_ = plan.autocast;
  m->codec_ = codec;
  m->path_ = path;
  loaded[key] = m;
  return m;
}

int TransformerModel::n_codebooks() const { return int(model_->n_codebooks()); }
Precision TransformerModel::precision() const { return model_->precision(); }
const std::string& TransformerModel::precision_note() const { return model_->precision_note(); }
Precision CodecModel::precision() const { return codec_->precision(); }
const std::string& CodecModel::precision_note() const { return codec_->precision_note(); }
int TransformerModel::n_conditioning_codebooks() const { return int(model_->n_conditioning_codebooks()); }

}  // namespace vamp

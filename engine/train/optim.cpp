// optim: parameters under checkpoint names, AdamW, schedule, loss log, progress, resume.
#include "optim.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace vamp::train {

Params::Params(const Checkpoint& ck, at::Device device) : layout_(ck) {
  at::NoGradGuard no_grad;
  for (const auto& [key, t] : ck.tensors) {
    index_[key] = list_.size();
    list_.emplace_back(key, t.to(device, at::kFloat).clone().contiguous().set_requires_grad(true));
  }
}

const at::Tensor& Params::operator[](const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) throw std::out_of_range("training: no parameter '" + key + "'");
  return list_[it->second].second;
}

std::vector<at::Tensor> Params::trainable() const {
  std::vector<at::Tensor> out;
  for (const auto& kv : list_)
    if (kv.second.requires_grad()) out.push_back(kv.second);
  return out;
}

void Params::freeze_all_but(const std::vector<std::string>& prefixes) {
  for (auto& [key, t] : list_) {
    bool keep = false;
    for (const auto& p : prefixes) keep = keep || key.rfind(p, 0) == 0;
    if (!keep) t.set_requires_grad(false);
  }
}

int64_t Params::count() const {
  int64_t n = 0;
  for (const auto& kv : list_) n += kv.second.numel();
  return n;
}

void Params::assign(const Checkpoint& ck) {
  at::NoGradGuard no_grad;
  for (auto& [key, t] : list_) t.copy_(ck.at(key, t.sizes()));
}

Checkpoint Params::checkpoint() const {
  Checkpoint out;
  out.path = layout_.path;
  out.kwargs = layout_.kwargs;
  out.metadata = layout_.metadata;
  for (const auto& [key, t] : list_) out.add(key, t.detach().to(at::kCPU).clone());
  return out;
}

AdamW::AdamW(std::vector<at::Tensor> params, double beta1, double beta2, double eps, double weight_decay)
    : params_(std::move(params)), beta1_(beta1), beta2_(beta2), eps_(eps), wd_(weight_decay) {
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

double AdamW::step(double lr, double clip) {
  at::NoGradGuard no_grad;
  // Multi-tensor (_foreach) kernels: a handful of launches per step instead of several per
  // parameter, which is what bounds a small model's step time on a GPU.
  std::vector<at::Tensor> p, g, m, v;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    p.push_back(params_[i]);
    g.push_back(params_[i].grad());
    m.push_back(m_[i]);
    v.push_back(v_[i]);
  }
  if (p.empty()) return 0.0;
  const double norm = at::stack(at::_foreach_norm(g)).norm().item<double>();
  if (clip > 0 && norm > clip) at::_foreach_mul_(g, clip / (norm + 1e-6));
  ++t_;
  const double bc1 = 1.0 - std::pow(beta1_, double(t_)), bc2 = 1.0 - std::pow(beta2_, double(t_));
  if (wd_ > 0) at::_foreach_mul_(p, 1.0 - lr * wd_);
  at::_foreach_mul_(m, beta1_);
  at::_foreach_add_(m, g, 1.0 - beta1_);
  at::_foreach_mul_(v, beta2_);
  at::_foreach_addcmul_(v, g, g, 1.0 - beta2_);
  std::vector<at::Tensor> denom = at::_foreach_sqrt(at::_foreach_div(v, bc2));
  at::_foreach_add_(denom, eps_);
  at::_foreach_addcdiv_(p, m, denom, -lr / bc1);
  return norm;
}

void AdamW::save(Checkpoint& into) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    into.add("m." + std::to_string(i), m_[i].to(at::kCPU));
    into.add("v." + std::to_string(i), v_[i].to(at::kCPU));
  }
}

void AdamW::load(const Checkpoint& from) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i].copy_(from.at("m." + std::to_string(i), m_[i].sizes()));
    v_[i].copy_(from.at("v." + std::to_string(i), v_[i].sizes()));
  }
  t_ = from.kwarg_int("step");
}

double learning_rate(int64_t step, int64_t total, double peak, int64_t warmup, double final_fraction) {
  if (step < warmup) return peak * double(step + 1) / double(warmup);
  const double progress = total > warmup ? std::min(1.0, double(step - warmup) / double(total - warmup)) : 1.0;
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return peak * (final_fraction + (1.0 - final_fraction) * cosine);
}

LossLog::LossLog(const std::string& path, std::vector<std::string> columns, bool append) : n_(columns.size()) {
  const bool exists = append && std::ifstream(path).good();
  f_ = std::fopen(path.c_str(), exists ? "a" : "w");
  if (!f_) throw std::runtime_error("cannot write the loss log " + path);
  if (!exists) {
    std::fprintf(f_, "step,seconds");
    for (const auto& c : columns) std::fprintf(f_, ",%s", c.c_str());
    std::fprintf(f_, "\n");
  }
}

LossLog::~LossLog() {
  if (f_) std::fclose(f_);
}

void LossLog::row(int64_t step, double seconds, const std::vector<double>& values) {
  std::fprintf(f_, "%lld,%.2f", (long long)step, seconds);
  for (size_t i = 0; i < n_ && i < values.size(); ++i) std::fprintf(f_, ",%.6g", values[i]);
  std::fprintf(f_, "\n");
  std::fflush(f_);
}

Progress::Progress(std::string what, int64_t first, double first_fraction, double earlier_seconds)
    : what_(std::move(what)), first_(first), first_fraction_(first_fraction), earlier_(earlier_seconds),
      tty_(isatty(2)), start_(std::chrono::steady_clock::now()), last_print_(start_) {}

double Progress::seconds() const {
  return earlier_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t step, double fraction, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  // A terminal gets a redrawn bar a few times a second; a log file gets a line every 10 s.
  if (since < (tty_ ? 0.25 : 10.0) && fraction < 1.0) return;
  last_print_ = now;
  const double elapsed = std::max(1e-9, seconds() - earlier_);
  const double rate = double(step + 1 - first_) / elapsed;
  const double gained = fraction - first_fraction_;
  const double eta = gained > 0 ? elapsed * (1.0 - fraction) / gained : 0.0;
  const int width = 30, filled = int(width * std::clamp(fraction, 0.0, 1.0));
  std::string bar(size_t(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "%s%s [%s] %3.0f%% step %lld %s %.1f it/s eta %dm%02ds%s", tty_ ? "\r" : "", what_.c_str(),
               bar.c_str(), 100.0 * fraction, (long long)(step + 1), status.c_str(), rate, int(eta) / 60,
               int(eta) % 60, tty_ ? "\033[K" : "\n");
}

void Progress::done() {
  if (tty_) std::fprintf(stderr, "\n");
}

void save_training_state(const std::string& model_path, const Params& params, const AdamW& opt, double seconds) {
  // Write-then-rename, so an interrupted save never leaves a half-written model behind.
  save_checkpoint(model_path + ".tmp", params.checkpoint());
  Checkpoint state;
  state.kwargs = py_dict({{"step", py_int(opt.steps())}, {"seconds", py_float(seconds)}});
  state.metadata = py_dict({{"kwargs", state.kwargs}});
  opt.save(state);
  save_checkpoint(model_path + ".state.tmp", state);
  if (std::rename((model_path + ".tmp").c_str(), model_path.c_str()) != 0 ||
      std::rename((model_path + ".state.tmp").c_str(), (model_path + ".state").c_str()) != 0)
    throw std::runtime_error("cannot rename the training state into " + model_path);
}

bool load_training_state(const std::string& model_path, Params& params, AdamW& opt, double* seconds) {
  if (!std::ifstream(model_path + ".state").good()) return false;
  params.assign(load_checkpoint(model_path));
  const Checkpoint state = load_checkpoint(model_path + ".state");
  opt.load(state);
  if (seconds) *seconds = state.kwarg_float("seconds", 0.0);
  return true;
}

}  // namespace vamp::train

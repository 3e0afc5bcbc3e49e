// train: the training loops behind vamp-train (codec; coarse and c2f transformers).
#include "train.h"

#include "codec_net.h"
#include "dataset.h"
#include "discriminator.h"
#include "optim.h"
#include "transformer_net.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <map>
#include <set>

namespace vamp::train {

namespace {

std::string log_path(const RunOptions& o) { return o.log.empty() ? o.out + ".log.csv" : o.log; }

void use_fast_convolutions(const at::Device& device) {
  // The crop length never changes, so cuDNN's algorithm search pays for itself at once.
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string loss_text(double loss) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "loss %.4f", loss);
  return buf;
}

}  // namespace

Checkpoint with_codebooks(const Checkpoint& ck, int64_t n, uint64_t seed) {
  CodecConfig cfg = Codec::from_checkpoint(ck)->config();
  if (n < cfg.n_codebooks)
    throw std::invalid_argument("--codebooks " + std::to_string(n) + ": the --init codec already has " +
                                std::to_string(cfg.n_codebooks) + " (stages can be added, not removed)");
  cfg.n_codebooks = n;
  Checkpoint grown = random_codec_checkpoint(cfg, seed);
  for (auto& [key, t] : grown.tensors)
    if (ck.has(key)) t = ck.at(key, t.sizes());
  grown.path = ck.path;
  return grown;
}

Checkpoint with_decoder_dim(const Checkpoint& ck, int64_t dim, uint64_t seed) {
  CodecConfig cfg = Codec::from_checkpoint(ck)->config();
  if (cfg.decoder != "lac") throw std::invalid_argument("--decoder-dim widens LAC decoders only (start a new one instead)");
  if (dim < cfg.decoder_dim)
    throw std::invalid_argument("--decoder-dim " + std::to_string(dim) + ": the --init codec's decoder already has " +
                                std::to_string(cfg.decoder_dim) + " (it can be widened, not narrowed)");
  cfg.decoder_dim = dim;
  Checkpoint wide = random_codec_checkpoint(cfg, seed);
  at::NoGradGuard no_grad;
  // The upsampling convolutions (decoder.model.<1..n>.block.1) are transposed: [in, out, k].
  std::set<std::string> transposed;
  for (size_t i = 1; i <= cfg.decoder_rates.size(); ++i) transposed.insert("decoder.model." + std::to_string(i) + ".block.1");
  std::map<std::string, at::Tensor> values;
  for (const auto& [key, fresh] : wide.tensors) {
    const at::Tensor& old = ck.at(key);  // throws naming the file and the missing key
    if (key.rfind("decoder.", 0) != 0) {
      values[key] = ck.at(key, fresh.sizes());
    } else if (const std::string v = ".weight_v"; ends_with(key, v)) {
      // Work on the effective weights, then store them as v with g = |v|, which weight norm maps
      // back to the same weights.
      const std::string layer = key.substr(0, key.size() - v.size());
      at::Tensor w = at::_weight_norm(fresh, wide.at(layer + ".weight_g"), 0);
      const at::Tensor w_old = at::_weight_norm(old, ck.at(layer + ".weight_g"), 0);
      const int64_t out_dim = transposed.count(layer) ? 1 : 0;
      w.narrow(out_dim, 0, w_old.size(out_dim)).zero_();  // old outputs read no new input
      w.narrow(0, 0, w_old.size(0)).narrow(1, 0, w_old.size(1)).copy_(w_old);
      values[key] = w;
      values[layer + ".weight_g"] = at::norm_except_dim(w, 2, 0);
    } else if (!ends_with(key, ".weight_g")) {  // bias [C] or Snake alpha [1, C, 1]
      const int64_t d = ends_with(key, ".alpha") ? 1 : 0;
      at::Tensor t = fresh.clone();
      t.narrow(d, 0, old.size(d)).copy_(old);
      values[key] = t;
    }
  }
  for (auto& [key, t] : wide.tensors) t = values.at(key);
  wide.path = ck.path;
  return wide;
}

Checkpoint with_decoder(const Checkpoint& ck, const CodecConfig& shape, uint64_t seed) {
  CodecConfig cfg = Codec::from_checkpoint(ck)->config();
  cfg.decoder = shape.decoder;
  cfg.decoder_dim = shape.decoder_dim;
  cfg.decoder_rates = shape.decoder_rates;
  cfg.decoder_layers = shape.decoder_layers;
  cfg.n_fft = shape.n_fft;
  cfg.istft_hop = shape.istft_hop;
  Checkpoint fresh = random_codec_checkpoint(cfg, seed);
  for (auto& [key, t] : fresh.tensors)
    if (key.rfind("decoder.", 0) != 0) t = ck.at(key, t.sizes());
  fresh.path = ck.path;
  return fresh;
}

Checkpoint with_decoder_layers(const Checkpoint& ck, int64_t n, uint64_t seed) {
  CodecConfig cfg = Codec::from_checkpoint(ck)->config();
  if (cfg.decoder != "istft") throw std::invalid_argument("--decoder-layers shortens iSTFT decoders only");
  if (n < 1 || n >= cfg.decoder_layers)
    throw std::invalid_argument("--decoder-layers " + std::to_string(n) + ": the --init codec's decoder has " +
                                std::to_string(cfg.decoder_layers) + " (blocks can be dropped, not added)");
  cfg.decoder_layers = n;
  Checkpoint short_ = random_codec_checkpoint(cfg, seed);
  for (auto& [key, t] : short_.tensors) t = ck.at(key, t.sizes());
  short_.path = ck.path;
  return short_;
}

Checkpoint with_transformer_codebooks(const Checkpoint& ck, const Checkpoint& fresh) {
  const int64_t c_old = ck.kwarg_int("n_codebooks"), c_new = fresh.kwarg_int("n_codebooks");
  const int64_t cond = ck.kwarg_int("n_conditioning_codebooks");
  for (const char* k : {"embedding_dim", "n_layers", "n_heads", "latent_dim", "vocab_size", "n_conditioning_codebooks"})
    if (ck.kwarg_int(k) != fresh.kwarg_int(k))
      ck.fail(std::string("--init differs from the requested model in ") + k + ", not only in its codebooks");
  if (c_new < c_old)
    ck.fail("--init has " + std::to_string(c_old) + " codebooks, the codec " + std::to_string(c_new) +
            " (codebooks can be added, not removed)");
  const int64_t p_old = c_old - cond, p_new = c_new - cond, ld = ck.kwarg_int("latent_dim");
  Checkpoint grown = fresh;
  at::NoGradGuard no_grad;
  for (auto& [key, t] : grown.tensors) {
    const at::Tensor& old = ck.at(key);  // throws naming the file and the missing key
    if (old.sizes() == t.sizes()) {
      t = old.clone();
    } else if (key == "embedding.special.MASK") {  // [codebooks, latent]
      t.narrow(0, 0, c_old).copy_(old);
    } else if (key == "embedding.out_proj.weight") {  // [D, codebooks * latent, 1], codebook-major
      t.zero_().narrow(1, 0, c_old * ld).copy_(old);
    } else if (key.rfind("classifier.layers.0.", 0) == 0) {  // channel = vocab * predicted + codebook
      const int64_t V = old.size(0) / p_old;
      std::vector<int64_t> shape_old = {V, p_old}, shape_new = {V, p_new};
      for (int64_t d = 1; d < old.dim(); ++d) shape_old.push_back(old.size(d)), shape_new.push_back(old.size(d));
      t.view(shape_new).narrow(1, 0, p_old).copy_(old.view(shape_old));
    } else {
      ck.fail("'" + key + "' has shape " + c10::str(old.sizes()) + ", the grown model " + c10::str(t.sizes()));
    }
  }
  grown.path = ck.path;
  return grown;
}

double run_progress(const RunOptions& opt, int64_t step, double seconds) {
  double p = double(step) / double(std::max<int64_t>(1, opt.steps));
  if (opt.max_minutes > 0) p = std::max(p, seconds / (60.0 * opt.max_minutes));
  return std::min(1.0, p);
}

// Loop shared by both trainers: schedule, step, log, progress, periodic saves, the clock.
// one_step(step, progress, lr) runs backward and returns the logged values (values[0]: the loss);
// on_save(seconds) saves whatever else the run trains, next to the model.
template <typename StepFn>
void run(const RunOptions& opt, Params& params, AdamW& adam, const std::string& what,
         const std::vector<std::string>& columns, StepFn&& one_step,
         const std::function<void(double)>& on_save = {}) {
  double earlier = 0;
  const bool resumed = load_training_state(opt.out, params, adam, &earlier);
  const int64_t first = adam.steps();
  if (resumed) std::fprintf(stderr, "%s: resuming %s at step %lld\n", what.c_str(), opt.out.c_str(), (long long)first);
  if (first >= opt.steps) return;
  LossLog log(log_path(opt), columns, resumed);
  Progress progress(what, first, run_progress(opt, first, earlier), earlier);
  const int64_t warmup = std::min<int64_t>(200, opt.steps / 10 + 1);
  std::vector<double> sums(columns.size(), 0.0);
  int64_t in_sum = 0;
  for (int64_t step = first; step < opt.steps; ++step) {
    const double progress_now = run_progress(opt, step, progress.seconds());
    const int64_t virtual_step = int64_t(progress_now * double(opt.steps));
    const double lr = learning_rate(std::max(step < warmup ? step : virtual_step, int64_t(0)), opt.steps, opt.lr, warmup);
    adam.zero_grad();
    std::vector<double> values = one_step(step, progress_now, lr);
    values.push_back(adam.step(lr, 1.0));
    values.push_back(lr);
    for (size_t i = 0; i < sums.size() && i < values.size(); ++i) sums[i] += values[i];
    ++in_sum;
    const bool last = step + 1 == opt.steps || (opt.max_minutes > 0 && progress_now >= 1.0);
    if ((step + 1) % 25 == 0 || last) {
      for (auto& s : sums) s /= double(in_sum);
      log.row(step + 1, progress.seconds(), sums);
      std::fill(sums.begin(), sums.end(), 0.0);
      in_sum = 0;
    }
    progress.update(step, last ? 1.0 : progress_now, loss_text(values[0]));
    if ((step + 1) % opt.save_every == 0 || last) {
      save_training_state(opt.out, params, adam, progress.seconds());
      if (on_save) on_save(progress.seconds());
    }
    if (last) break;
  }
  progress.done();
}

void train_codec(const CodecTrainOptions& opt) {
  use_fast_convolutions(opt.device);
  at::manual_seed(uint64_t(opt.seed));
  // A fresh random codec of the requested shape, or (--init) a trained one to continue from.
  Checkpoint init = opt.init.empty() ? random_codec_checkpoint(opt.config, uint64_t(opt.seed)) : load_checkpoint(opt.init);
  const int64_t old_stages = Codec::from_checkpoint(init)->config().n_codebooks;
  if (opt.grow_to > old_stages) init = with_codebooks(init, opt.grow_to, uint64_t(opt.seed));
  if (opt.new_decoder) init = with_decoder(init, opt.config, uint64_t(opt.seed));
  if (opt.widen_to > Codec::from_checkpoint(init)->config().decoder_dim)
    init = with_decoder_dim(init, opt.widen_to, uint64_t(opt.seed));
  if (opt.shorten_to > 0) init = with_decoder_layers(init, opt.shorten_to, uint64_t(opt.seed));
  init.metadata = py_dict({{"kwargs", init.kwargs}, {"trained_by", py_str("vamp-train codec")}});
  // The inference loader validates the layout and derives the shape before any time is spent.
  const CodecConfig cfg = Codec::from_checkpoint(init)->config();
  Params params(init, opt.device);
  if (opt.decoder_only) {
    std::vector<std::string> train = {"decoder."};
    for (int64_t i = old_stages; i < cfg.n_codebooks; ++i)
      train.push_back("quantizer.quantizers." + std::to_string(i) + ".");
    params.freeze_all_but(train);
  }
  AudioSet data(opt.data, cfg.sample_rate);
  std::fprintf(stderr, "codec: %zu files, %.1f minutes of audio\n", data.size(), data.seconds() / 60.0);
  if (cfg.n_codebooks > old_stages)
    std::fprintf(stderr, "codec: RVQ stages %lld..%lld added to --init's\n", (long long)old_stages,
                 (long long)cfg.n_codebooks - 1);
  if (opt.decoder_only)
    std::fprintf(stderr, "codec: training the decoder%s only (encoder and the first %lld codebooks fixed)\n",
                 cfg.n_codebooks > old_stages ? " and the new stages" : "", (long long)old_stages);
  std::fprintf(stderr, "codec: %lld parameters, hop %lld, %lld codebooks of %lld\n", (long long)params.count(),
               (long long)cfg.hop_length, (long long)cfg.n_codebooks, (long long)cfg.codebook_size);
  AdamW adam(params.trainable(), 0.8, 0.99);
  CodecNet net(params, cfg);
  MelLoss mel(cfg.sample_rate, opt.device);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(opt.seed));
  const int64_t n = std::max<int64_t>(1, int64_t(opt.crop_seconds * cfg.sample_rate / cfg.hop_length)) * cfg.hop_length;

  // LAC's decoder without discriminators keeps the waveform through L1 and correlation terms;
  // otherwise the correlation term is asked for (--correlation-loss: the iSTFT decoder's pitch).
  const bool istft = cfg.decoder == "istft";
  const bool hold_waveform = !istft && !opt.adversarial;
  const MelLoss metric_mel = metric_mel_loss(cfg.sample_rate, opt.device);

  // Discriminators: their own weights and AdamW, saved (and resumed) as <out>.disc. A new run
  // from --init starts them from <init>.disc when that exists: a fine-tuned decoder then meets
  // trained critics, not random ones whose first judgements would pull it anywhere.
  const std::string disc_path = opt.out + ".disc";
  const std::string init_disc = opt.init.empty() ? "" : opt.init + ".disc";
  std::unique_ptr<Params> dparams;
  std::unique_ptr<AdamW> dadam;
  std::unique_ptr<Discriminator> disc;
  if (opt.adversarial) {
    // A resumed run keeps the shape its discriminators were made with.
    const bool resuming = std::filesystem::exists(disc_path);
    const bool from_init = !resuming && !init_disc.empty() && std::filesystem::exists(init_disc);
    const DiscriminatorConfig dcfg = resuming    ? discriminator_config(load_checkpoint(disc_path))
                                     : from_init ? discriminator_config(load_checkpoint(init_disc))
                                                 : DiscriminatorConfig{};
    dparams = std::make_unique<Params>(random_discriminator_checkpoint(dcfg, uint64_t(opt.seed)), opt.device);
    dadam = std::make_unique<AdamW>(dparams->trainable(), 0.8, 0.99);
    if (load_training_state(disc_path, *dparams, *dadam))
      std::fprintf(stderr, "codec: resuming the discriminators at step %lld\n", (long long)dadam->steps());
    if (from_init) {
      dparams->assign(load_checkpoint(init_disc));
      std::fprintf(stderr, "codec: discriminators from %s\n", init_disc.c_str());
    }
    disc = std::make_unique<Discriminator>(*dparams, dcfg);
    std::fprintf(stderr, "codec: discriminators %lld parameters, from step %lld\n", (long long)dparams->count(),
                 (long long)opt.adversarial_after);
  }
  auto save_disc = [&](double seconds) {
    if (dadam) save_training_state(disc_path, *dparams, *dadam, seconds);
  };

  // Dead codes are restarted only where codebooks train (with --decoder-only: the new stages).
  CodeRestarter restarter(cfg.n_codebooks, cfg.codebook_size, opt.decoder_only ? old_stages : 0);
  run(opt, params, adam, "codec",
      {"loss", "mel", "metric_mel", "stft", "level", "l1", "si_sdr", "commitment", "codebook", "adversarial", "feature_matching",
       "discriminator", "restarted", "grad_norm", "lr"},
      [&](int64_t step, double progress, double lr) {
        const at::Tensor x = data.crops(opt.batch, n, gen).to(opt.device);
        // Quantizer dropout (lac): part of the batch is decoded from a random number of codebooks,
        // so that the lowest codebooks alone already sound like the input.
        at::Tensor nq = at::full({opt.batch}, cfg.n_codebooks, at::kLong);
        const int64_t n_drop = int64_t(opt.quantizer_dropout * double(opt.batch));
        if (n_drop > 0) nq.narrow(0, 0, n_drop).copy_(at::randint(1, cfg.n_codebooks + 1, {n_drop}, gen));
        const auto out = net.forward(x, nq.to(opt.device));
        const at::Tensor mel_loss = mel(out.audio, x);
        const at::Tensor metric_loss = metric_mel(out.audio, x);
        const at::Tensor stft = opt.stft_loss ? log_stft_loss(out.audio, x) : at::zeros({}, x.options());
        const at::Tensor level = opt.level_loss ? level_loss(out.audio, x) : at::zeros({}, x.options());
        const at::Tensor l1 = at::l1_loss(out.audio, x);
        const at::Tensor sdr = si_sdr(out.audio, x).mean();
        // DAC's mel and VQ weights; the log-mel distance next to the mel loss.
        at::Tensor loss = 15.0 * mel_loss + 15.0 * metric_loss + 15.0 * stft + 15.0 * level + 0.25 * out.commitment_loss +
                          1.0 * out.codebook_loss;
        // Without discriminators the mel losses alone leave the phase arbitrary (SI-SDR -40 dB
        // after 1000 steps); L1 and a strong correlation term (1 - r) hold it.
        // On the iSTFT decoder the correlation term is what keeps pitch: without it the round trip's
        // chroma fell to 0.6 (overlapping frames disagree in phase); L1 would also shrink the level.
        if (hold_waveform) loss = loss + 10.0 * l1;
        if (hold_waveform || opt.correlation_loss) loss = loss + 100.0 * (1.0 - correlation(out.audio, x).mean());
        double adv_value = 0, fm_value = 0, d_value = 0;
        if (disc && step >= opt.adversarial_after) {
          // One judgement of the real and of the detached generated audio trains D; the
          // generated audio judged again with D's weights as constants trains the codec
          // (LSGAN, DAC's weights: adversarial 1, feature matching 2).
          const auto real = (*disc)(x);
          const at::Tensor d_loss = discriminator_loss(real, (*disc)(out.audio.detach()));
          const auto fake = (*disc)(out.audio, /*train_weights=*/false);
          const at::Tensor adv = generator_loss(fake), fm = feature_matching_loss(real, fake);
          loss = loss + adv + 2.0 * fm;
          dadam->zero_grad();
          d_loss.backward();
          dadam->step(lr, 10.0);
          adv_value = adv.item<double>();
          fm_value = fm.item<double>();
          d_value = d_loss.item<double>();
        }
        loss.backward();
        // Codes unused for 100 steps are moved onto live encodings, early in the run only, so the
        // late codebooks settle.
        restarter.count(out.codes);
        int64_t restarted = 0;
        if ((step + 1) % 100 == 0 && progress < 0.6) restarted = restarter.restart(params, out.projected, gen);
        return std::vector<double>{loss.item<double>(), mel_loss.item<double>(), metric_loss.item<double>(), stft.item<double>(),
                                   level.item<double>(), l1.item<double>(), sdr.item<double>(), out.commitment_loss.item<double>(),
                                   out.codebook_loss.item<double>(), adv_value, fm_value, d_value,
                                   double(restarted)};
      },
      save_disc);
  std::fprintf(stderr, "codec: saved %s\n", opt.out.c_str());
}

void train_transformer(const TransformerTrainOptions& opt) {
  use_fast_convolutions(opt.device);
  at::manual_seed(uint64_t(opt.seed));
  auto codec = Codec::load(opt.codec, opt.device);
  const TransformerConfig& cfg = opt.config;
  if (cfg.n_codebooks > codec->config().n_codebooks)
    throw std::invalid_argument("the model wants " + std::to_string(cfg.n_codebooks) + " codebooks, the codec has " +
                                std::to_string(codec->config().n_codebooks));
  std::vector<at::Tensor> codebooks;
  for (int64_t c = 0; c < cfg.n_codebooks; ++c) codebooks.push_back(codec->codebook(int(c)));

  // Tokens of every training file, computed once (the codec is fixed while the transformer trains).
  AudioSet data(opt.data, codec->config().sample_rate);
  std::vector<at::Tensor> codes;
  const int64_t hop = codec->config().hop_length;
  for (size_t i = 0; i < data.size(); ++i) {
    at::Tensor a = data.piece(i);
    const int64_t n = a.numel() / hop * hop;
    if (n == 0) continue;
    at::Tensor z = codec->encode_chunked(a.narrow(0, 0, n).view({1, 1, n}), 512);
    codes.push_back(z[0].narrow(0, 0, cfg.n_codebooks).to(opt.device));
  }
  std::fprintf(stderr, "%s: %zu files, %lld frames of tokens\n", opt.out.c_str(), codes.size(),
               (long long)[&] { int64_t t = 0; for (auto& z : codes) t += z.size(1); return t; }());

  Checkpoint init;
  if (opt.init.empty()) {
    init = random_transformer_checkpoint(cfg, uint64_t(opt.seed), /*with_lora=*/false);
    // Smaller initial weights than the random test models: a trainable start (std 0.02, as GPT-style models).
    for (auto& [key, t] : init.tensors)
      if (key.find(".weight") != std::string::npos && t.dim() == 2 && key.find("norm") == std::string::npos &&
          key.find("relative_attention_bias") == std::string::npos)
        t = t.normal_(0.0, 0.02);
  } else {
    init = load_checkpoint(opt.init);
    if (init.kwarg_int("n_codebooks") < cfg.n_codebooks) {  // the codec gained RVQ stages (c2f)
      std::fprintf(stderr, "%s: codebooks %lld..%lld added to --init's\n", opt.out.c_str(),
                   (long long)init.kwarg_int("n_codebooks"), (long long)cfg.n_codebooks - 1);
      init = with_transformer_codebooks(init, random_transformer_checkpoint(cfg, uint64_t(opt.seed), false));
    }
    if (init.kwarg_int("n_codebooks") != cfg.n_codebooks || init.kwarg_int("embedding_dim") != cfg.embedding_dim ||
        init.kwarg_int("n_layers") != cfg.n_layers)
      init.fail("--init has another shape than the requested model (n_codebooks, embedding_dim, n_layers)");
  }
  init.metadata = py_dict({{"kwargs", init.kwargs}, {"trained_by", py_str("vamp-train transformer")}});
  Params params(init, opt.device);
  Transformer::from_checkpoint(params.checkpoint(), codebooks);  // validates the layout first
  std::fprintf(stderr, "%s: %lld parameters\n", opt.out.c_str(), (long long)params.count());
  AdamW adam(params.trainable(), 0.9, 0.999, 1e-8, 0.01);
  TransformerNet net(params, cfg, codebooks, opt.bf16);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(opt.seed));
  const std::string what = cfg.n_conditioning_codebooks > 0 ? "c2f" : "coarse";

  run(opt, params, adam, what, {"loss", "accuracy", "grad_norm", "lr"}, [&](int64_t, double, double) {
    const at::Tensor z = token_windows(codes, opt.batch, opt.frames, gen);
    const at::Tensor mask = cosine_schedule_mask(opt.batch, cfg.n_codebooks, opt.frames,
                                                 cfg.n_conditioning_codebooks, gen).to(z.device());
    MaskedLoss l = masked_token_loss(net, z, mask, opt.dropout);
    l.loss.backward();
    return std::vector<double>{l.loss.item<double>(), l.accuracy};
  });
  std::fprintf(stderr, "%s: saved %s\n", what.c_str(), opt.out.c_str());
}

}  // namespace vamp::train

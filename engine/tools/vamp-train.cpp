// vamp-train: trains the codec, coarse and c2f models of a VampNet set on a folder of WAV files
// and measures them on held-out audio. Models are written in the released checkpoint layout.
// Runs resume from <out>.state; the loss log is <out>.log.csv. Exit codes as vamp-cli.
#include "cli.h"
#include "train/audio_measures.h"
#include "train/evaluate.h"
#include "train/heldout_measures.h"
#include "train/opus_yardstick.h"
#include "vamp/vamp.h"
#include "vamp/wav.h"
#include "train/train.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <iostream>

namespace vamp::cli {
namespace {

const std::vector<std::string> kRunOptions = {"data", "out", "log", "init", "steps", "batch", "lr", "seed", "device",
                                              "save-every", "max-minutes"};

at::Device device_arg(const Args& a) {
  const std::string d = a.str("device", "cpu");
  if (d == "cpu") return at::kCPU;
  if (d == "cuda" || d.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA()) throw std::runtime_error("--device " + d + ": this libtorch has no usable CUDA device");
    return at::Device(d);
  }
  throw Usage("--device expects cpu or cuda[:N], got '" + d + "'");
}

void run_options(const Args& a, train::RunOptions& o, int64_t steps, int64_t batch, double lr) {
  o.data = a.str("data");
  o.out = a.str("out");
  o.log = a.str("log", "");
  o.init = a.str("init", "");
  o.steps = a.integer("steps", steps);
  o.batch = a.integer("batch", batch);
  o.lr = a.number("lr", lr);
  o.seed = a.integer("seed", 1);
  o.device = device_arg(a);
  o.save_every = a.integer("save-every", 250);
  o.max_minutes = a.number("max-minutes", 0.0);
  if (o.steps < 1 || o.batch < 1 || o.lr <= 0 || o.save_every < 1) throw Usage("steps, batch, lr and save-every must be positive");
}

std::vector<int64_t> rates_arg(const Args& a, const std::string& name, std::vector<int64_t> fallback) {
  if (!a.has(name)) return fallback;
  std::vector<int64_t> r;
  std::string s = a.str(name), item;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      try {
        r.push_back(std::stoll(item));
      } catch (const std::exception&) {
        throw Usage("--" + name + " expects comma-separated integers, got '" + s + "'");
      }
      item.clear();
    } else {
      item += s[i];
    }
  }
  return r;
}

const char* kCodecUsage =
    "vamp-train codec --data DIR --out codec.pth [--init codec.pth] [--steps N] [--batch B] [--lr X] [--seed S]\n"
    "      [--device cpu|cuda] [--max-minutes M] [--save-every N] [--log F.csv]\n"
    "      [--encoder-dim 16] [--decoder-dim 128] [--codebooks 8] [--codebook-size 1024] [--codebook-dim 8]\n"
    "      [--encoder-rates 2,6,8,8] [--decoder-rates 12,8,8] (hop 768 as released; three decoder stages,\n"
    "      so that a narrow decoder still has 16 channels at the output rate)\n"
    "      [--decoder lac|istft] istft: ConvNeXt blocks + inverse STFT instead of LAC's upsampling stack,\n"
    "      [--decoder-dim 384] [--decoder-layers 8] [--n-fft 1536] [--istft-hop 384]\n"
    "      [--crop-seconds 0.6] [--quantizer-dropout 0.5]\n"
    "      [--adversarial] multi-period and multi-resolution STFT discriminators (LSGAN, feature matching),\n"
    "      saved as <out>.disc (a new run from --init starts them from <init>.disc when there is one);\n"
    "      [--adversarial-after N] steps of reconstruction losses alone first\n"
    "      [--correlation-loss] 100 (1 - r) with the input waveform: keeps pitch (default: only for LAC without\n"
    "      discriminators, with L1)\n"
    "      [--stft-loss] log-magnitude STFT loss at 4096/2048 samples (resolves single partials)\n"
    "      [--level-loss] log frame-energy loss (the log-magnitude losses alone leave the output quiet)\n"
    "      With --init: [--codebooks N] appends RVQ stages to the codec's (the old stages keep their codes);\n"
    "      [--decoder-dim N] widens its decoder (decoding as before until the new channels train);\n"
    "      [--decoder-layers N] keeps the first N blocks of its iSTFT decoder (a smaller one to fine-tune);\n"
    "      [--decoder istft ...] replaces its decoder by a fresh one (encoder, codebooks and tokens kept)\n"
    "      [--decoder-only] trains the decoder (and appended stages) alone: the tokens do not change, so\n"
    "      coarse (and, without new stages, c2f) models trained on this codec stay valid";

int codec(const Args& a) {
  std::vector<std::string> known = kRunOptions;
  known.insert(known.end(), {"encoder-dim", "decoder-dim", "codebooks", "codebook-size", "codebook-dim",
                             "encoder-rates", "decoder-rates", "crop-seconds", "quantizer-dropout", "decoder-only",
                             "decoder", "decoder-layers", "n-fft", "istft-hop", "adversarial", "adversarial-after",
                             "correlation-loss", "stft-loss", "level-loss"});
  a.allow(known);
  train::CodecTrainOptions o;
  run_options(a, o, 20000, 16, 1e-3);
  o.config.encoder_dim = a.integer("encoder-dim", 16);
  o.config.decoder = a.str("decoder", "lac");
  if (o.config.decoder != "lac" && o.config.decoder != "istft") throw Usage("--decoder: lac or istft");
  const bool istft = o.config.decoder == "istft";
  o.config.decoder_dim = a.integer("decoder-dim", istft ? 384 : 128);
  if (istft) {
    o.config.decoder_layers = a.integer("decoder-layers", 8);
    o.config.n_fft = a.integer("n-fft", 1536);
    o.config.istft_hop = a.integer("istft-hop", 384);
  }
  o.config.n_codebooks = a.integer("codebooks", 8);
  o.config.codebook_size = a.integer("codebook-size", 1024);
  o.config.codebook_dim = a.integer("codebook-dim", 8);
  o.config.encoder_rates = rates_arg(a, "encoder-rates", {2, 6, 8, 8});
  o.config.decoder_rates = rates_arg(a, "decoder-rates", {12, 8, 8});
  o.crop_seconds = a.number("crop-seconds", 0.6);
  o.quantizer_dropout = a.number("quantizer-dropout", 0.5);
  o.decoder_only = a.has("decoder-only");
  o.adversarial = a.has("adversarial");
  o.adversarial_after = a.integer("adversarial-after", 0);
  o.correlation_loss = a.has("correlation-loss");
  o.stft_loss = a.has("stft-loss");
  o.level_loss = a.has("level-loss");
  if (!o.init.empty() && a.has("codebooks")) o.grow_to = o.config.n_codebooks;
  o.new_decoder = !o.init.empty() && a.has("decoder");
  if (!o.init.empty() && a.has("decoder-dim") && !o.new_decoder) o.widen_to = o.config.decoder_dim;
  if (!o.init.empty() && a.has("decoder-layers") && !o.new_decoder) o.shorten_to = a.integer("decoder-layers", 0);
  if (o.decoder_only && o.init.empty()) throw Usage("--decoder-only needs --init: a trained encoder to keep");
  train::train_codec(o);
  return 0;
}

const char* kCoarseUsage =
    "vamp-train coarse|c2f --codec codec.pth --data DIR --out model.pth [--init model.pth] [--steps N] [--batch B] [--lr X]\n"
    "      [--seed S] [--device cpu|cuda] [--max-minutes M] [--save-every N] [--log F.csv]\n"
    "      [--dim D] [--layers L] [--heads H] [--frames T] [--dropout 0.1] [--precision fp32|bf16]\n"
    "      (coarse: 4 codebooks, d 192, 6 layers; c2f: all codec codebooks, 4 conditioning, d 128, 4 layers)";

int transformer(const Args& a, bool c2f) {
  std::vector<std::string> known = kRunOptions;
  known.insert(known.end(), {"codec", "dim", "layers", "heads", "frames", "dropout"});
  a.allow(known);
  train::TransformerTrainOptions o;
  run_options(a, o, 10000, 16, 5e-4);
  o.codec = a.str("codec");
  const int64_t codec_codebooks = load_checkpoint(o.codec).kwarg_int("n_codebooks");
  TransformerConfig& c = o.config;
  c.n_codebooks = c2f ? codec_codebooks : std::min<int64_t>(4, codec_codebooks);
  c.n_conditioning_codebooks = c2f ? std::min<int64_t>(4, codec_codebooks - 1) : 0;
  c.embedding_dim = a.integer("dim", c2f ? 128 : 192);
  c.n_layers = a.integer("layers", c2f ? 4 : 6);
  c.n_heads = a.integer("heads", c.embedding_dim / 32);
  o.frames = a.integer("frames", c2f ? 128 : 256);
  o.dropout = a.number("dropout", 0.1);
  o.bf16 = precision_arg(a) == Precision::BF16;
  train::train_transformer(o);
  return 0;
}

const char* kEvalUsage =
    "vamp-train eval --codec codec.pth [--coarse coarse.pth] [--c2f c2f.pth] --train DIR --heldout DIR\n"
    "      [--seconds 10] [--period 7] [--frames 256] [--seed 1]\n"
    "      first, the default-model issue's audio measures on every WAV of --clips DIR (default: --heldout):\n"
    "      codec round trip, Opus (--opus-bitrate 8000, --opus-bandwidth fullband|auto: fullband as gst's\n"
    "      opusenc, the issue's yardstick) and a pipelines/vary-file.sh variation (--vary-seed 0),\n"
    "      per clip and median, and the issue's floors; [--clip-seconds S] (default: whole clips)\n"
    "      [--wav-out DIR] writes each clip's input, round trip, opus and variation WAVs\n"
    "      [--measures-only] stops after that block (then --train and --heldout are not needed; without\n"
    "      --coarse it measures the codec alone)";

// One row: round trip, opus, variation (mel, flatness ratio, chroma, level), then the clip's name.
void print_clip_row(const std::string& name, const train::AudioMeasures& rt, const train::AudioMeasures* opus,
                    const train::AudioMeasures* var) {
  std::printf("  %6.3f %5.2f %6.3f %+5.1f", rt.mel, rt.flatness_ratio, rt.chroma, rt.level_diff_db);
  if (opus)
    std::printf("   %6.3f %5.2f %6.3f %+5.1f", opus->mel, opus->flatness_ratio, opus->chroma, opus->level_diff_db);
  else
    std::printf("   %6s %5s %6s %5s", "-", "-", "-", "-");
  if (var)
    std::printf("   %6.3f %5.2f %6.3f %+5.1f", var->mel, var->flatness_ratio, var->chroma, var->level_diff_db);
  else
    std::printf("   %6s %5s %6s %5s", "-", "-", "-", "-");
  std::printf("   %s\n", name.c_str());
  std::fflush(stdout);
}

// The report: per-clip rows, medians, floors.
void heldout_report(const Args& a, const std::string& dir) {
  const std::string device = "cpu";
  auto codec = CodecModel::open(a.str("codec"), device);
  std::shared_ptr<TransformerModel> coarse, c2f;  // no coarse model: the codec alone
  if (a.has("coarse")) coarse = TransformerModel::open(a.str("coarse"), codec, device);
  if (coarse && a.has("c2f")) c2f = TransformerModel::open(a.str("c2f"), codec, device);
  train::HeldoutOptions o;
  o.max_seconds = a.number("clip-seconds", 0.0);
  o.opus_bitrate = int(a.integer("opus-bitrate", 8000));
  const std::string bandwidth = a.str("opus-bandwidth", "fullband");
  if (bandwidth != "fullband" && bandwidth != "auto")
    throw Usage("--opus-bandwidth expects fullband or auto, got '" + bandwidth + "'");
  o.opus_fullband = bandwidth == "fullband";
  o.variation.seed = uint64_t(a.integer("vary-seed", 0));
  o.wav_out = a.str("wav-out", "");
  const auto& v = o.variation;
  const bool opus = train::opus_available();
  std::printf("held-out audio measures (default-model issue), every WAV in %s%s\n", dir.c_str(),
              o.max_seconds > 0 ? "" : ", whole clips cut to whole frames");
  std::printf("  each output against its input: log-mel distance (3 scales), spectral flatness ratio (output /\n"
              "  input), mean-chroma cosine, level difference (dB, output - input)\n");
  std::printf("  round trip: the codec, all codebooks. opus: libopus %d bit/s, %s bandwidth, 48 kHz mono, 20 ms\n"
              "  frames, as gst's opusenc%s\n",
              o.opus_bitrate, o.opus_fullband ? "fullband" : "automatic", opus ? "" : " (UNAVAILABLE: this build has no libopus)");
  std::printf("  variation: as pipelines/vary-file.sh: periodic prompt %lld width %lld, codebooks < %lld kept,\n"
              "  windows of %d + %d context frames, %d + %d steps, seed %llu, c2f %s\n",
              (long long)v.period, (long long)v.width, (long long)v.keep_codebooks, v.window_frames, v.context_frames,
              v.steps, v.c2f_steps, (unsigned long long)v.seed, c2f ? "on" : "off");
  std::printf("  %-26s   %-26s   %-26s\n", "round trip", opus ? "opus" : "opus (unavailable)", "variation");
  std::printf(" ");
  for (int i = 0; i < 3; ++i) std::printf(" %6s %5s %6s %5s  ", "mel", "flat", "chroma", "level");
  std::printf(" clip\n");
  std::fflush(stdout);
  o.on_clip = [&](const train::ClipMeasures& c) {
    print_clip_row(c.name, c.round_trip, opus ? &c.opus : nullptr, coarse ? &c.variation : nullptr);
  };
  const auto m = train::measure_heldout(codec, coarse, c2f, dir, o);
  print_clip_row("median over " + std::to_string(m.clips.size()) + " clips", m.median_round_trip,
                 opus ? &m.median_opus : nullptr, coarse ? &m.median_variation : nullptr);
  if (!opus) std::printf("  the Opus row is unavailable: this build has no libopus (install libopus-dev, reconfigure)\n");
  std::printf("floors (medians over clips)\n");
  for (const auto& f : train::heldout_floors(m))
    std::printf("  %-32s %-26s %7.3f   %s\n", f.what.c_str(), f.bound.c_str(), f.value,
                f.measured ? (f.met ? "yes" : "NO") : "n/a");
  if (!o.wav_out.empty())
    std::printf("  wrote <clip>.{input,roundtrip,opus,variation}.wav to %s\n", o.wav_out.c_str());
  std::fflush(stdout);
}

int eval(const Args& a) {
  a.allow({"codec", "coarse", "c2f", "train", "heldout", "seconds", "period", "frames", "seed", "clips",
           "clip-seconds", "wav-out", "opus-bitrate", "opus-bandwidth", "vary-seed", "measures-only"});
  const bool only = a.has("measures-only");
  if (!only && (!a.has("train") || !a.has("heldout") || !a.has("coarse")))
    throw Usage("--coarse, --train and --heldout are needed (or --measures-only)");
  if (!a.has("clips") && !a.has("heldout")) throw Usage("--clips or --heldout is needed");
  heldout_report(a, a.has("clips") ? a.str("clips") : a.str("heldout"));
  if (only) return 0;

  auto codec = Codec::load(a.str("codec"));
  std::vector<at::Tensor> books;
  for (int64_t c = 0; c < codec->config().n_codebooks; ++c) books.push_back(codec->codebook(int(c)));
  auto coarse = Transformer::load(a.str("coarse"), books);
  std::shared_ptr<Transformer> c2f;
  if (a.has("c2f")) c2f = Transformer::load(a.str("c2f"), books);
  train::AudioSet train_set(a.str("train"), codec->config().sample_rate);
  train::AudioSet heldout(a.str("heldout"), codec->config().sample_rate);
  const double seconds = a.number("seconds", 10.0);
  const int64_t period = a.integer("period", 7), frames = a.integer("frames", 256);

  const auto cq = train::evaluate_codec(*codec, heldout, seconds);
  std::printf("codec (%d held-out pieces, %.0f s each)\n", cq.pieces, seconds);
  std::printf("  mel distance, codec round trip   %.3f\n", cq.mel_codec);
  std::printf("  mel distance, 3 kHz low-pass     %.3f   (codec/low-pass %.2f; floor: well below 1)\n",
              cq.mel_lowpass, cq.mel_codec / cq.mel_lowpass);
  std::printf("  mel distance, first 4 codebooks  %.3f\n", cq.mel_coarse);
  std::printf("  SI-SDR                           %.2f dB   (floor: > 5 dB)\n", cq.si_sdr);
  std::printf("  SI-SDR, first 4 / 8 codebooks    %.2f / %.2f dB\n", cq.si_sdr_first4, cq.si_sdr_first8);
  std::printf("  by band: share of the input's energy, output energy / input, SNR\n");
  for (const auto& b : cq.bands)
    std::printf("    %5.0f-%5.0f Hz   %5.3f   %5.2f   %6.2f dB\n", b.lo_hz, b.hi_hz, b.input_share, b.energy_ratio,
                b.snr_db);
  const auto tq = train::evaluate_masked_accuracy(*coarse, *codec, train_set, heldout, period, frames);
  std::printf("coarse masked-token accuracy, periodic prompt %lld (%lld tokens)\n", (long long)period,
              (long long)tq.tokens);
  std::printf("  model %.4f   unigram baseline %.4f   ratio %.2f   (floor: >= 3)\n", tq.accuracy,
              tq.unigram_accuracy, tq.accuracy / std::max(1e-9, tq.unigram_accuracy));
  const auto vq = train::evaluate_variation(*codec, *coarse, c2f.get(), heldout, period, frames, seconds,
                                            uint64_t(a.integer("seed", 1)));
  std::printf("variation chroma correlation, periodic prompt %lld (%d pieces)\n", (long long)period, vq.pieces);
  std::printf("  with its input %.3f   another piece with that input %.3f   wins %d/%d   (floor: first > second)\n",
              vq.with_input, vq.with_other, vq.wins, vq.pieces);
  return 0;
}

const char* kExportUsage =
    "vamp-train export --in model.pth --out shipped.pth [--dtype fp16|fp32]\n"
    "      the model's weights stored in fp16 (default: half the file; loaded back as fp32), same layout";

int export_cmd(const Args& a) {
  a.allow({"in", "out", "dtype"});
  const std::string dtype = a.str("dtype", "fp16");
  if (dtype != "fp16" && dtype != "fp32") throw Usage("--dtype expects fp16 or fp32, got '" + dtype + "'");
  const Checkpoint ck = load_checkpoint(a.str("in"));
  save_checkpoint(a.str("out"), with_float_storage(ck, dtype == "fp16" ? at::kHalf : at::kFloat));
  std::printf("%s -> %s (%s)\n", a.str("in").c_str(), a.str("out").c_str(), dtype.c_str());
  return 0;
}

const char* kCompareUsage =
    "vamp-train compare --ref REF.wav TEST.wav...\n"
    "      the audio measures of each TEST against REF (mixed to mono, cut to the shorter): log-mel\n"
    "      distance, spectral flatness ratio, chroma cosine, level difference";

int compare_cmd(const Args& a) {
  a.allow({"ref"});
  if (a.positional().empty()) throw Usage("no TEST.wav given");
  const Audio ref = load_wav(a.str("ref"));
  const at::Tensor ref_mono = ref.samples.mean(0);
  std::printf("%-40s %8s %9s %7s %9s\n", "file", "log-mel", "flatness", "chroma", "level dB");
  for (const auto& path : a.positional()) {
    const Audio test = load_wav(path);
    if (test.sample_rate != ref.sample_rate)
      throw std::runtime_error(path + ": " + std::to_string(test.sample_rate) + " Hz, the reference has " +
                               std::to_string(ref.sample_rate));
    const auto m = train::measure_against(test.samples.mean(0), ref_mono, ref.sample_rate);
    std::printf("%-40s %8.3f %9.2f %7.3f %+9.1f\n", path.c_str(), m.mel, m.flatness_ratio, m.chroma,
                m.level_diff_db);
  }
  return 0;
}

int coarse_cmd(const Args& a) { return transformer(a, false); }
int c2f_cmd(const Args& a) { return transformer(a, true); }

}  // namespace
}  // namespace vamp::cli

int main(int argc, char** argv) {
  using namespace vamp::cli;
  const std::vector<Command> cmds = {
      {"codec", kCodecUsage, codec}, {"coarse", kCoarseUsage, coarse_cmd}, {"c2f", kCoarseUsage, c2f_cmd},
      {"eval", kEvalUsage, eval}, {"export", kExportUsage, export_cmd},
      {"compare", kCompareUsage, compare_cmd}};
  const std::string name = argc >= 2 ? argv[1] : "";
  for (const auto& c : cmds) {
    if (name != c.name) continue;
    try {
      Args args(argc - 1, argv + 1);
      // --threads N, default every core this process may use (cpu_budget.h).
      at::set_num_threads(vamp::set_cpu_threads(int(args.integer("threads", 0))));
      return c.run(args);
    } catch (const Usage& e) {
      std::cerr << "vamp-train " << name << ": " << e.what() << "\nusage: " << c.usage << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "vamp-train " << name << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "usage:\n";
  for (size_t i = 0; i < cmds.size(); ++i)  // coarse and c2f share one text
    if (i == 0 || cmds[i].usage != cmds[i - 1].usage) std::cerr << "  " << cmds[i].usage << "\n";
  std::cerr << "common option: --threads N (CPU threads; default: every core this process may\n"
               "  use, its affinity capped by its cgroup quota)\n";
  return 2;
}

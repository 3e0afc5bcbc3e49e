// vamp-cli encode / decode / make-codec: the LAC codec on files.
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "vamp/npy.h"
#include "cli.h"
#include "vamp/wav.h"

#include <iostream>

namespace vamp::cli {

namespace {

const char* kEncodeUsage =
    "vamp-cli encode --codec C.pth --in in.wav --out codes.npy|codes.vtok\n"
    "    mono wav at the codec's rate -> int64 codes [1,K,T]; right zero-padded to whole frames,\n"
    "    no loudness normalization";
const char* kDecodeUsage =
    "vamp-cli decode --codec C.pth --in codes.npy|codes.vtok --out out.wav\n"
    "    int32/int64 codes [1,k,T] or [k,T] (k <= K: the first k codebooks) -> float32 wav, T*hop samples";
const char* kMakeUsage =
    "vamp-cli make-codec --preset tiny|full --seed N --out C.pth\n"
    "    random (untrained) codec in the released checkpoint layout; full = the released\n"
    "    configuration (~600 MB), tiny = same framing (hop 768, 14 x 1024 codes), small widths";

int encode(const Args& args) {
  args.allow({"codec", "in", "out"});
  const std::string in = args.str("in"), out = args.str("out");
  auto codec = Codec::load(args.str("codec"), at::kCPU, precision_arg(args));
  report_precision("codec", codec->precision(), codec->precision_note());
  const auto& cfg = codec->config();
  Audio audio = load_wav(in);
  if (audio.samples.size(0) != 1)
    throw std::runtime_error(in + ": " + std::to_string(audio.samples.size(0)) +
                             " channels; the codec takes mono audio (mix it down first)");
  if (audio.sample_rate != cfg.sample_rate)
    throw std::runtime_error(in + ": sample rate " + std::to_string(audio.sample_rate) + " Hz; the codec runs at " +
                             std::to_string(cfg.sample_rate) + " Hz (resample it first)");
  const int64_t n = audio.samples.size(1);
  if (n == 0) throw std::runtime_error(in + ": no samples");
  const int64_t padded = (n + cfg.hop_length - 1) / cfg.hop_length * cfg.hop_length;
  at::Tensor x = at::constant_pad_nd(audio.samples, {0, padded - n}, 0).view({1, 1, padded});
  at::Tensor codes = codec->encode(x).to(at::kCPU).contiguous();
  save_codes(out, codes, *codec);
  std::cerr << "encoded " << n << " samples (" << padded << " padded) -> codes [1," << codes.size(1) << ","
            << codes.size(2) << "], codec " << codec->id() << "\n";
  return 0;
}

int decode(const Args& args) {
  args.allow({"codec", "in", "out"});
  const std::string in = args.str("in"), out = args.str("out");
  auto codec = Codec::load(args.str("codec"), at::kCPU, precision_arg(args));
  report_precision("codec", codec->precision(), codec->precision_note());
  at::Tensor codes = load_codes(in);
  if (codes.size(0) != 1 || codes.size(2) == 0)
    throw std::runtime_error(in + ": expected codes [1,k,T] or [k,T], got " + c10::str(codes.sizes()));
  at::Tensor audio;
  try {
    audio = codec->decode(codes).to(at::kCPU);
  } catch (const std::out_of_range& e) {
    throw std::runtime_error(in + ": " + e.what());
  }
  save_wav(out, Audio{audio[0].contiguous(), int(codec->config().sample_rate)});
  std::cerr << "decoded codes [1," << codes.size(1) << "," << codes.size(2) << "] -> " << audio.size(2)
            << " samples at " << codec->config().sample_rate << " Hz\n";
  return 0;
}

int make_codec(const Args& args) {
  args.allow({"preset", "seed", "out"});
  CodecConfig cfg;
  try {
    cfg = codec_preset(args.str("preset"));
  } catch (const std::invalid_argument& e) {
    throw Usage(e.what());
  }
  const long long seed = args.integer("seed", 0);
  if (seed < 0) throw Usage("--seed must be >= 0");
  save_checkpoint(args.str("out"), random_codec_checkpoint(cfg, uint64_t(seed)));
  return 0;
}

}  // namespace

std::vector<Command> codec_commands() {
  return {{"encode", kEncodeUsage, encode}, {"decode", kDecodeUsage, decode}, {"make-codec", kMakeUsage, make_codec}};
}

}  // namespace vamp::cli

// Codes files for vamp-cli: .vtok token files (vamp/token_file.h, what vamptokfilemux writes and
// vampparse reads) or .npy arrays, by the file's extension.
#include "cli.h"

#include "vamp/codec.h"
#include "vamp/npy.h"
#include "vamp/token_file.h"

namespace vamp::cli {

bool is_token_file(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".vtok") == 0;
}

at::Tensor load_codes(const std::string& path, at::Tensor* mask) {
  if (is_token_file(path)) {
    const TokenFile f = read_token_file(path);
    const int64_t k = f.format.codebooks;
    const std::vector<int64_t> tokens(f.tokens.begin(), f.tokens.end());
    if (mask && f.format.has_mask) {
      const std::vector<int64_t> m(f.mask.begin(), f.mask.end());
      *mask = at::tensor(m).ne(0).to(at::kLong).view({f.frames, k}).t().unsqueeze(0).contiguous();
    }
    return at::tensor(tokens).view({f.frames, k}).t().unsqueeze(0).contiguous();  // [1, K, T]
  }
  at::Tensor t = load_npy(path);
  if (at::isFloatingType(t.scalar_type()) || t.scalar_type() == at::kBool)
    throw std::runtime_error(path + ": codes must be an integer array, got " + std::string(c10::toString(t.scalar_type())));
  if (t.dim() == 2) t = t.unsqueeze(0);
  if (t.dim() != 3) throw std::runtime_error(path + ": codes must be [B,C,T] or [C,T], got " + c10::str(t.sizes()));
  return t.to(at::kLong);
}

void save_codes(const std::string& path, const at::Tensor& codes, const Codec& codec) {
  if (!is_token_file(path)) {
    save_npy(path, codes);
    return;
  }
  if (codes.dim() != 3 || codes.size(0) != 1)
    throw std::runtime_error(path + ": a token file holds one stream, got codes " + c10::str(codes.sizes()));
  TokenFile f;
  const auto& cfg = codec.config();
  f.format.rate = int(cfg.sample_rate);
  f.format.hop_length = int(cfg.hop_length);
  f.format.codebooks = int(codes.size(1));
  f.format.codebook_size = int(cfg.codebook_size);
  f.format.codec_id = codec.id();
  f.frames = codes.size(2);
  const at::Tensor t = codes[0].t().contiguous().to(at::kLong);  // [T, K]
  f.tokens.assign(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  write_token_file(path, f);
}

}  // namespace vamp::cli

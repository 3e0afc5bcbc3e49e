// vamp-cli plot: a token grid (codebooks x time, colour by token id) with its mask, as a PNG.
#include "vamp/npy.h"
#include "cli.h"

#ifdef VAMP_HAVE_PNG
#include <png.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace vamp::cli {

namespace {

const char* kPlotUsage =
    "vamp-cli plot --codes Z.npy [--mask M.npy] --out grid.png [--codebook-size N]\n"
    "      [--cell-width PX] [--cell-height PX]\n"
    "    draws codes int [1,K,T] or [K,T] as a grid: time left to right, codebook 0 at the\n"
    "    bottom, hue = token id / N (default 1024), black = MASK (id >= N). With a mask\n"
    "    ([1,K,T], [K,T] or [T]; 1 = generate) generated cells are dimmed, and a strip under\n"
    "    the grid shows the generated fraction of each frame (white = all kept, red = all\n"
    "    generated). Cell width defaults to fit about 1600 px";

struct Rgb {
  uint8_t r, g, b;
};

Rgb hsv(double h, double s, double v) {
  h = std::fmod(h, 1.0) * 6.0;
  const int i = int(h);
  const double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;
  switch (i) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
  }
  return {uint8_t(std::lround(r * 255)), uint8_t(std::lround(g * 255)), uint8_t(std::lround(b * 255))};
}

// [K,T] int64 from [1,K,T] or [K,T]; `what` names the file in errors.
at::Tensor as_grid(at::Tensor t, const std::string& what) {
  if (t.dim() == 3 && t.size(0) == 1) t = t[0];
  if (t.dim() != 2) throw std::runtime_error(what + ": expected [1,K,T] or [K,T], got " + c10::str(t.sizes()));
  return t.to(at::kLong).contiguous();
}

void write_png(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
#ifndef VAMP_HAVE_PNG
  (void)width, (void)height, (void)rgb;
  throw std::runtime_error(path + ": this vamp-cli was built without libpng (install libpng-dev, rebuild)");
#else
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), std::fclose);
  if (!f) throw std::runtime_error(path + ": cannot open for writing");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("libpng: out of memory");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error(path + ": libpng failed to write the image");
  }
  png_init_io(png, f.get());
  png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y)
    png_write_row(png, const_cast<png_bytep>(rgb.data() + size_t(y) * size_t(width) * 3));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
#endif
}

int plot(const Args& a) {
  a.allow({"codes", "mask", "out", "codebook-size", "cell-width", "cell-height"});
  if (!a.positional().empty()) throw Usage("unexpected argument '" + a.positional()[0] + "'");
  const std::string codes_path = a.str("codes"), out = a.str("out");
  const long long vocab = a.integer("codebook-size", 1024);
  if (vocab <= 0) throw Usage("--codebook-size must be > 0");

  at::Tensor codes = as_grid(load_npy(codes_path), codes_path);
  const int64_t K = codes.size(0), T = codes.size(1);
  if (K == 0 || T == 0) throw std::runtime_error(codes_path + ": no tokens");

  at::Tensor mask;
  if (a.has("mask")) {
    const std::string mask_path = a.str("mask");
    at::Tensor m = load_npy(mask_path);
    if (m.dim() == 1) m = m.unsqueeze(0).expand({K, m.size(0)});
    m = as_grid(m, mask_path);
    if (m.size(0) != K || m.size(1) != T)
      throw std::runtime_error(mask_path + ": mask " + c10::str(m.sizes()) + " does not match codes [" +
                               std::to_string(K) + "," + std::to_string(T) + "]");
    mask = m;
  }

  const long long cw = a.integer("cell-width", std::clamp<long long>(1600 / T, 1, 16));
  const long long ch = a.integer("cell-height", 12);
  if (cw <= 0 || ch <= 0 || cw > 256 || ch > 256) throw Usage("cell sizes must be in 1..256 px");
  const int strip = mask.defined() ? 10 : 0, gap = mask.defined() ? 2 : 0;
  const int64_t width64 = T * cw, height64 = K * ch + gap + strip;
  if (width64 > 100000 || height64 > 100000)
    throw Usage("image too large (" + std::to_string(width64) + "x" + std::to_string(height64) +
                "); lower --cell-width");
  const int width = int(width64), height = int(height64);
  std::vector<uint8_t> rgb(size_t(width) * size_t(height) * 3, 255);
  auto put = [&](int x, int y, Rgb c) {
    uint8_t* p = &rgb[(size_t(y) * size_t(width) + size_t(x)) * 3];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  };

  const auto z = codes.accessor<int64_t, 2>();
  std::vector<int64_t> m;  // [K*T], empty without a mask
  if (mask.defined()) m.assign(mask.data_ptr<int64_t>(), mask.data_ptr<int64_t>() + K * T);
  for (int64_t k = 0; k < K; ++k) {
    const int y0 = int((K - 1 - k) * ch);  // codebook 0 at the bottom
    for (int64_t t = 0; t < T; ++t) {
      const int64_t id = z[k][t];
      const bool generated = !m.empty() && m[size_t(k * T + t)] != 0;
      Rgb c = (id < 0 || id >= vocab) ? Rgb{0, 0, 0}
                                      : hsv(double(id) / double(vocab), generated ? 0.25 : 0.75,
                                            generated ? 0.45 : 0.95);
      for (int dy = 0; dy < ch; ++dy) {
        // A 1 px line between codebooks keeps rows apart at small cell heights.
        const Rgb cc = (dy == ch - 1 && ch >= 4) ? Rgb{uint8_t(c.r * 3 / 4), uint8_t(c.g * 3 / 4), uint8_t(c.b * 3 / 4)} : c;
        for (int dx = 0; dx < cw; ++dx) put(int(t * cw + dx), y0 + dy, cc);
      }
    }
  }
  if (mask.defined()) {
    at::Tensor frac = (mask != 0).to(at::kDouble).mean(0).contiguous();
    const auto f = frac.accessor<double, 1>();
    for (int64_t t = 0; t < T; ++t) {
      const uint8_t g = uint8_t(std::lround(255 * (1 - f[t])));
      for (int dy = 0; dy < strip; ++dy)
        for (int dx = 0; dx < cw; ++dx) put(int(t * cw + dx), int(K * ch + gap + dy), Rgb{255, g, g});
    }
  }
  write_png(out, width, height, rgb);
  std::cout << "wrote " << out << ": " << width << "x" << height << " px, " << K << " codebooks x " << T
            << " frames" << (mask.defined() ? ", with mask" : "") << "\n";
  return 0;
}

}  // namespace

std::vector<Command> plot_commands() { return {{"plot", kPlotUsage, plot}}; }

}  // namespace vamp::cli

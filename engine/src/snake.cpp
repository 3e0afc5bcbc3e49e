// snake: one-pass Snake activation (see snake.h).
#include "vamp/snake.h"

#include <cmath>
#include <cstring>

namespace vamp {

namespace {

inline float from_bf16(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, NaN kept quiet: c10::BFloat16's conversion.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return f != f ? uint16_t(0x7fc0) : uint16_t(rounded);
}

inline float load(const float* p, int64_t i) { return p[i]; }
inline float load(const uint16_t* p, int64_t i) { return from_bf16(p[i]); }
inline void store(float* p, int64_t i, float v) { p[i] = v; }
inline void store(uint16_t* p, int64_t i, float v) { p[i] = to_bf16(v); }

constexpr float kLargest = 8192.0f;  // |alpha x| up to which the reduction below is exact enough

// a = k pi + r with |r| <= pi/2, for |a| <= kLargest (pi split in three parts so that k * part
// is exact). sin(a)^2 = sin(r)^2 and sin(2a) = sin(2r): both have period pi.
inline float reduce_by_pi(float a) {
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const float k = (a * 0.318309886183790672f + magic) - magic;
  float r = a - k * 3.140625f;
  r = r - k * 9.67502593994140625e-4f;
  return r - k * 1.509957990978376432e-7f;
}

// sin(r) and cos(r) on [-pi/2, pi/2] by their Taylor series to r^13 and r^14 (truncation error
// below 1e-9); r2 = r * r.
inline float sin_reduced(float r, float r2) {
  float p = 1.6059043836821614e-10f;  // 1/13!
  p = p * r2 - 2.5052108385441720e-8f;
  p = p * r2 + 2.7557319223985893e-6f;
  p = p * r2 - 1.9841269841269841e-4f;
  p = p * r2 + 8.3333333333333333e-3f;
  p = p * r2 - 1.6666666666666667e-1f;
  return r + r * r2 * p;
}
inline float cos_reduced(float r2) {
  float q = -1.1470745597729725e-11f;  // -1/14!
  q = q * r2 + 2.0876756987868099e-9f;
  q = q * r2 - 2.7557319223985891e-7f;
  q = q * r2 + 2.4801587301587302e-5f;
  q = q * r2 - 1.3888888888888889e-3f;
  q = q * r2 + 4.1666666666666667e-2f;
  q = q * r2 - 0.5f;
  return 1.0f + r2 * q;
}

inline float sin_squared(float a) {
  const float r = reduce_by_pi(a), s = sin_reduced(r, r * r);
  return s * s;
}

// sin(2a) and sin(a)^2 from one reduction (the backward pass needs both).
inline void sin2_and_sin_squared(float a, float* sin2, float* sin_sq) {
  const float r = reduce_by_pi(a), r2 = r * r, s = sin_reduced(r, r2);
  *sin2 = 2.0f * s * cos_reduced(r2);
  *sin_sq = s * s;
}

template <typename In, typename Out>
inline __attribute__((always_inline)) void snake_body(const In* x, Out* out, int64_t n, float alpha, float rinv) {
  constexpr int64_t kPiece = 256;
  float a[kPiece];
  for (int64_t i0 = 0; i0 < n; i0 += kPiece) {
    const int64_t m = n - i0 < kPiece ? n - i0 : kPiece;
    int large = 0;
    for (int64_t i = 0; i < m; ++i) {
      a[i] = alpha * load(x, i0 + i);
      large |= std::fabs(a[i]) > kLargest;
    }
    if (large) {  // rare: libm's sinf, element by element
      for (int64_t i = 0; i < m; ++i) {
        const float s = std::sin(a[i]);
        store(out, i0 + i, load(x, i0 + i) + rinv * (s * s));
      }
      continue;
    }
    for (int64_t i = 0; i < m; ++i) store(out, i0 + i, load(x, i0 + i) + rinv * sin_squared(a[i]));
  }
}

}  // namespace

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VAMP_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VAMP_CPU_CLONES
#endif

VAMP_CPU_CLONES void snake_row(const float* x, float* out, int64_t n, float alpha, float rinv) {
  snake_body(x, out, n, alpha, rinv);
}
VAMP_CPU_CLONES void snake_row(const float* x, uint16_t* out, int64_t n, float alpha, float rinv) {
  snake_body(x, out, n, alpha, rinv);
}
VAMP_CPU_CLONES void snake_row(const uint16_t* x, uint16_t* out, int64_t n, float alpha, float rinv) {
  snake_body(x, out, n, alpha, rinv);
}

VAMP_CPU_CLONES double snake_backward_row(const float* x, const float* g, float* gx, int64_t n, float alpha,
                                          float rinv) {
  constexpr int64_t kPiece = 256;
  const float slope = alpha * rinv, rinv2 = rinv * rinv;
  float acc[kPiece] = {};  // lane-wise partial sums of g * dy/dalpha, so the loop vectorizes
  double total = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kPiece) {
    const int64_t m = n - i0 < kPiece ? n - i0 : kPiece;
    bool large = false;
    for (int64_t i = 0; i < m; ++i) large |= std::fabs(alpha * x[i0 + i]) > kLargest;
    auto step = [&](int64_t i, float sin2, float sin_sq) {
      const float xi = x[i0 + i], gi = g[i0 + i];
      gx[i0 + i] = gi + gi * slope * sin2;
      acc[i] += gi * (rinv * xi * sin2 - rinv2 * sin_sq);
    };
    if (large) {  // rare: libm, element by element
      for (int64_t i = 0; i < m; ++i) {
        const float a = alpha * x[i0 + i], s = std::sin(a);
        step(i, std::sin(2.0f * a), s * s);
      }
    } else {
      for (int64_t i = 0; i < m; ++i) {
        float sin2, sin_sq;
        sin2_and_sin_squared(alpha * x[i0 + i], &sin2, &sin_sq);
        step(i, sin2, sin_sq);
      }
    }
    if (i0 % (64 * kPiece) == 0 || i0 + kPiece >= n) {  // fold into double now and then
      for (int64_t i = 0; i < kPiece; ++i) total += acc[i], acc[i] = 0;
    }
  }
  return total;
}

}  // namespace vamp

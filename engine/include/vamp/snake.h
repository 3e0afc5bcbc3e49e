// snake: the codec's Snake activation, x + (alpha + 1e-9)^-1 * sin(alpha * x)^2 per channel, as
// one pass over a row of samples (the CPU path; codec.cpp and, for training, codec_net.cpp spread
// rows over threads), and its gradients as one more.
//
// The reference evaluates it as five whole-tensor ops, so a decoder activation of tens of MB
// crosses memory five times, 19 times per decoder block. One pass with a vectorized sine makes it
// a few percent of a decode instead of a third. The sine is a polynomial after reduction by pi,
// within a few ulp of libm's (the goldens' tolerances are far wider); arguments beyond 8192 in
// magnitude, where the reduction would lose bits, take libm's sinf.
//
// Torch-free; compiled for AVX-512, AVX2 and baseline x86-64, chosen at load time.
#pragma once

#include <cstdint>

namespace vamp {

// rinv = 1 / (alpha + 1e-9), precomputed as the reference computes it. out may equal x.
void snake_row(const float* x, float* out, int64_t n, float alpha, float rinv);
// bfloat16 in and/or out (raw bits; out rounded to nearest even, as torch converts).
void snake_row(const float* x, uint16_t* out_bf16, int64_t n, float alpha, float rinv);
void snake_row(const uint16_t* x_bf16, uint16_t* out_bf16, int64_t n, float alpha, float rinv);

// Training's backward pass over one row, fp32: given the output gradient g, writes
// gx = g * dy/dx (gx may equal g) and returns sum(g * dy/dalpha) over the row, with
// dy/dx = 1 + alpha rinv sin(2 alpha x) and dy/dalpha = rinv x sin(2 alpha x) - rinv^2 sin(alpha x)^2.
double snake_backward_row(const float* x, const float* g, float* gx, int64_t n, float alpha, float rinv);

}  // namespace vamp

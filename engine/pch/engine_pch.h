// Precompiled header for engine sources: libtorch's headers dominate build time on 2 cores.
#include <ATen/ATen.h>
#include <torch/torch.h>

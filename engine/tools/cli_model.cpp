// vamp-cli logits / generate / vamp (filled in with the transformer and sampler).
#include "tools/cli.h"

namespace vamp::cli {
std::vector<Command> model_commands() { return {}; }
}  // namespace vamp::cli

// vamp-cli: the engine on the command line. The interface of each command is fixed (tests and
// pipelines rely on it). Exit codes: 0 success, 1 error (bad file, bad checkpoint), 2 usage.
#include "vamp/checkpoint.h"
#include "vamp/cpu_budget.h"
#include "cli.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <iostream>

namespace vamp::cli {

namespace {

const char* kind_of(const Checkpoint& ck) {
  if (ck.has("encoder.block.0.weight_v"))
    return ck.has("decoder.embed.weight") ? "codec (LAC encoder, inverse-STFT decoder)" : "codec (LAC)";
  if (ck.has("embedding.special.MASK")) return "VampNet transformer";
  return "unknown";
}

int info(const Args& args) {
  args.allow({});
  if (args.positional().size() != 1) throw Usage("expects one checkpoint path");
  Checkpoint ck = load_checkpoint(args.positional()[0]);
  int64_t params = 0;
  for (const auto& [k, t] : ck.tensors) params += t.numel();
  std::cout << "file: " << ck.path << "\n"
            << "kind: " << kind_of(ck) << "\n"
            << "kwargs: " << ck.kwargs->repr() << "\n"
            << "tensors: " << ck.tensors.size() << "\n"
            << "parameters: " << params << "\n";
  if (auto logs = ck.metadata->get("logs")) std::cout << "logs: present\n";
  return 0;
}

std::vector<Command> all_commands() {
  std::vector<Command> cmds{{"info", "vamp-cli info F.pth", info}};
  for (auto& c : codec_commands()) cmds.push_back(c);
  for (auto& c : model_commands()) cmds.push_back(c);
  for (auto& c : mask_commands()) cmds.push_back(c);
  for (auto& c : plot_commands()) cmds.push_back(c);
  return cmds;
}

void print_usage(const std::vector<Command>& cmds) {
  std::cerr << "usage:\n";
  for (const auto& c : cmds) std::cerr << "  " << c.usage << "\n";
  std::cerr << "common options: --threads N (CPU threads; default: every core this process may\n"
               "  use, its affinity capped by its cgroup quota)\n"
               "                --precision fp32|bf16|int8|auto (encode, decode, logits, generate, vamp;\n"
               "                default fp32 = exact; int8 is the transformer's, the codec takes bf16)\n";
}

}  // namespace
}  // namespace vamp::cli

int main(int argc, char** argv) {
  using namespace vamp::cli;
  const auto cmds = all_commands();
  if (argc < 2) {
    print_usage(cmds);
    return 2;
  }
  const std::string name = argv[1];
  for (const auto& c : cmds) {
    if (name != c.name) continue;
    try {
      Args args(argc - 1, argv + 1);
      // --threads N, default every core this process may use (cpu_budget.h).
      at::set_num_threads(vamp::set_cpu_threads(int(args.integer("threads", 0))));
      return c.run(args);
    } catch (const Usage& e) {
      std::cerr << "vamp-cli " << name << ": " << e.what() << "\nusage: " << c.usage << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "vamp-cli " << name << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "vamp-cli: unknown command '" << name << "'\n";
  print_usage(cmds);
  return 2;
}

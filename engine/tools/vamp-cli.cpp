// vamp-cli: the engine on the command line. The interface of each command is fixed (tests and
// pipelines rely on it). Exit codes: 0 success, 1 error (bad file, bad checkpoint), 2 usage.
#include "checkpoint.h"
#include "tools/cli.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <iostream>

namespace vamp::cli {

Args::Args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        value = argv[++i];
      }
      opts_[name] = value;
    } else {
      pos_.push_back(a);
    }
  }
}

std::string Args::str(const std::string& name) const {
  auto it = opts_.find(name);
  if (it == opts_.end() || it->second.empty()) throw Usage("missing --" + name);
  return it->second;
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  auto it = opts_.find(name);
  return it == opts_.end() ? fallback : it->second;
}

long long Args::integer(const std::string& name) const {
  const std::string v = str(name);
  try {
    size_t used = 0;
    long long r = std::stoll(v, &used);
    if (used == v.size()) return r;
  } catch (const std::exception&) {
  }
  throw Usage("--" + name + " expects an integer, got '" + v + "'");
}

long long Args::integer(const std::string& name, long long fallback) const {
  return has(name) ? integer(name) : fallback;
}

double Args::number(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = str(name);
  try {
    size_t used = 0;
    double r = std::stod(v, &used);
    if (used == v.size()) return r;
  } catch (const std::exception&) {
  }
  throw Usage("--" + name + " expects a number, got '" + v + "'");
}

void Args::allow(const std::vector<std::string>& known) const {
  for (const auto& [name, v] : opts_) {
    bool ok = name == "threads" || name == "precision";
    for (const auto& k : known) ok = ok || k == name;
    if (!ok) throw Usage("unknown option --" + name);
  }
}

Precision precision_arg(const Args& a) {
  try {
    return parse_precision(a.str("precision", "fp32"));
  } catch (const std::invalid_argument& e) {
    throw Usage(e.what());
  }
}

void report_precision(const char* what, Precision p, const std::string& note) {
  if (!note.empty()) std::cerr << what << ": " << note << "\n";
  if (p != Precision::FP32) std::cerr << what << " runs in " << precision_name(p) << "\n";
}

namespace {

const char* kind_of(const Checkpoint& ck) {
  if (ck.has("encoder.block.0.weight_v")) return "codec (LAC)";
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
  std::cerr << "common options: --threads N (torch CPU threads; default: all cores)\n"
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
      if (args.has("threads")) at::set_num_threads(int(args.integer("threads")));
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

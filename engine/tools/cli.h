// Shared pieces of vamp-cli: argument parsing and the command table.
#pragma once

#include "vamp/precision.h"

#include <ATen/ATen.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vamp {
class Codec;
}

namespace vamp::cli {

// "--name value" options and bare positionals; flags are options given without a value.
class Args {
 public:
  Args(int argc, char** argv);  // argv[0] is the command name
  bool has(const std::string& name) const { return opts_.count(name) > 0; }
  std::string str(const std::string& name) const;  // required; throws Usage
  std::string str(const std::string& name, const std::string& fallback) const;
  long long integer(const std::string& name, long long fallback) const;
  long long integer(const std::string& name) const;  // required
  double number(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return pos_; }
  // Throws Usage naming any option not in `known`.
  void allow(const std::vector<std::string>& known) const;

 private:
  std::map<std::string, std::string> opts_;
  std::vector<std::string> pos_;
};

// --precision fp32|bf16|int8|auto (common option; default fp32). Throws Usage on other values.
Precision precision_arg(const Args& a);
// Prints to stderr what `what` runs in, and why when it differs from the request.
void report_precision(const char* what, Precision p, const std::string& note);

// A usage mistake: vamp-cli prints it with the command's usage line and exits with 2.
struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Command {
  const char* name;
  const char* usage;
  int (*run)(const Args& args);  // returns the exit code; errors are thrown
};

// The mask options of `vamp-cli mask` (named as vampmask's properties), shared by `vamp`.
const std::vector<std::string>& mask_option_names();
// The mask those options describe for codes of `shape` (int64, 1 = generate); beat and onset
// masks analyse `audio_path`.
at::Tensor mask_from_args(const Args& a, at::IntArrayRef shape, int sample_rate, int hop,
                          const std::string& audio_path);

// Codes files by extension: .vtok (a token file; its mask plane, when it has one and `mask` is
// given, comes back as int64 [1,K,T], 1 = generate) or .npy (integer [B,C,T] or [C,T]). The
// codes come back as int64 [B,C,T]. Errors name the file.
bool is_token_file(const std::string& path);
at::Tensor load_codes(const std::string& path, at::Tensor* mask = nullptr);
// Writes codes [1,K,T] of `codec` as .vtok, or any codes as .npy.
void save_codes(const std::string& path, const at::Tensor& codes, const Codec& codec);

// Each tools/*.cpp file contributes its commands.
std::vector<Command> codec_commands();
std::vector<Command> model_commands();
std::vector<Command> mask_commands();
std::vector<Command> plot_commands();

}  // namespace vamp::cli

// errors: what the engine throws besides std::invalid_argument / std::runtime_error.
#pragma once

#include <stdexcept>

namespace vamp {

// Every failure to read or interpret a checkpoint; what() names the file and the fault.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A setting the device or this build cannot run (e.g. precision int8 on CUDA); what() says what
// runs instead.
struct SettingsError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Thrown by a window that StreamSampler::cancel() withdrew before it started.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace vamp

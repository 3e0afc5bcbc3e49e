// Argument parsing shared by vamp-cli and vamp-train.
#include "cli.h"

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

}  // namespace vamp::cli

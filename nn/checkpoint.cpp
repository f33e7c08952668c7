#include "checkpoint.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <vector>

#include <unistd.h>

namespace mixup::nn {
namespace {

constexpr char kMagic[8] = {'M', 'I', 'X', 'U', 'P', 'C', 'K', '\n'};
constexpr std::uint32_t kVersion = 2;  // 2 added BatchNorm; 1 is still read

std::uint64_t fnv1a(const std::vector<char>& bytes, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * 1099511628211ull;
  return h;
}

template <class T>
void put(std::vector<char>& out, const T& v) {
  const char* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

struct Reader {
  const std::vector<char>& b;
  std::size_t pos;
  const std::string& path;
  template <class T>
  T get() {
    if (pos + sizeof(T) > b.size()) throw CheckpointError(path + ": truncated");
    T v;
    std::memcpy(&v, b.data() + pos, sizeof v);
    pos += sizeof v;
    return v;
  }
};

}  // namespace

void save_checkpoint(const SimpleCnn& model, const std::string& path) {
  std::vector<char> out(kMagic, kMagic + 8);
  put(out, kVersion);
  put(out, static_cast<std::uint32_t>(model.layers().size()));
  put(out, static_cast<std::uint32_t>((model.last_relu() ? 1u : 0u) | (model.batch_norm() ? 2u : 0u)));
  for (const Conv2d& c : model.layers()) {
    put(out, c.in_ch), put(out, c.out_ch), put(out, c.kernel), put(out, c.stride);
  }
  for (const Conv2d& c : model.layers()) {
    for (float v : c.weight) put(out, v);
    for (float v : c.bias) put(out, v);
  }
  for (const BatchNorm2d& b : model.norms())
    for (const auto* v : {&b.gamma, &b.beta, &b.running_mean, &b.running_var})
      for (float x : *v) put(out, x);
  put(out, fnv1a(out, out.size()));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    errno = 0;
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw CheckpointError(path + ": cannot create " + tmp + " (" + std::strerror(errno) + ")");
    const bool written = std::fwrite(out.data(), 1, out.size(), f) == out.size() && std::fflush(f) == 0;
    const int err = errno;
    if (std::fclose(f) != 0 || !written) {
      const int why = written ? errno : err;
      std::remove(tmp.c_str());
      throw CheckpointError(path + ": write failed (" + std::strerror(why) + ")");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int why = errno;
    std::remove(tmp.c_str());
    throw CheckpointError(path + ": cannot rename the temporary file into place (" + std::strerror(why) +
                          ")");
  }
}

SimpleCnn load_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw CheckpointError(path + ": cannot open");
  const std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (b.size() < 8 + 12 + 8 || std::memcmp(b.data(), kMagic, 8) != 0)
    throw CheckpointError(path + ": not a mixup checkpoint (bad magic)");
  std::uint64_t stored;
  std::memcpy(&stored, b.data() + b.size() - 8, 8);
  if (fnv1a(b, b.size() - 8) != stored)
    throw CheckpointError(path + ": checksum mismatch (corrupt or truncated)");
  Reader r{b, 8, path};
  const std::uint32_t version = r.get<std::uint32_t>();
  if (version != 1 && version != kVersion)
    throw CheckpointError(path + ": version " + std::to_string(version) + " is not supported");
  const std::uint32_t layers = r.get<std::uint32_t>();
  const std::uint32_t flags = r.get<std::uint32_t>();
  const bool last_relu = (flags & 1u) != 0, bn = version >= 2 && (flags & 2u) != 0;
  if (layers == 0 || layers > 64) throw CheckpointError(path + ": implausible layer count");
  std::vector<std::int64_t> actns, kernels, strides;
  // Every parameter is stored in the file, so the shapes are checked against the bytes left
  // before anything is allocated: a corrupt header cannot ask for gigabytes.
  const std::int64_t floats_left = static_cast<std::int64_t>((b.size() - 8 - r.pos) / 4);
  std::int64_t params = 0;
  const auto add_product = [&](std::initializer_list<std::int64_t> factors) {
    std::int64_t p = 1;
    for (std::int64_t f : factors) {
      if (f > floats_left / p) throw CheckpointError(path + ": wrong size for its layers");
      p *= f;
    }
    params += p;
    if (params > floats_left) throw CheckpointError(path + ": wrong size for its layers");
  };
  for (std::uint32_t i = 0; i < layers; ++i) {
    const std::int64_t in = r.get<std::int64_t>(), out = r.get<std::int64_t>(), k = r.get<std::int64_t>(),
                       s = r.get<std::int64_t>();
    if (in <= 0 || out <= 0 || k <= 0 || s <= 0)
      throw CheckpointError(path + ": layer " + std::to_string(i) +
                            " has a channel count, kernel or stride <= 0");
    if (i == 0) actns.push_back(in);
    else if (in != actns.back()) throw CheckpointError(path + ": layer shapes do not chain");
    actns.push_back(out), kernels.push_back(k), strides.push_back(s);
  }
  for (std::uint32_t i = 0; i < layers; ++i) {
    add_product({actns[i + 1], actns[i], kernels[i], kernels[i]});  // weight
    add_product({actns[i + 1]});                                    // bias
    if (bn && i + 1 < layers) add_product({4, actns[i + 1]});       // gamma, beta, running mean and var
  }
  SimpleCnn model(actns, kernels, strides, last_relu, 0, bn);
  for (Conv2d& c : model.layers()) {
    for (float& v : c.weight) v = r.get<float>();
    for (float& v : c.bias) v = r.get<float>();
  }
  for (BatchNorm2d& b : model.norms())
    for (auto* v : {&b.gamma, &b.beta, &b.running_mean, &b.running_var})
      for (float& x : *v) x = r.get<float>();
  if (r.pos != b.size() - 8) throw CheckpointError(path + ": wrong size for its layers");
  return model;
}

}  // namespace mixup::nn

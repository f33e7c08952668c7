#include "cpu_isa.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace mixup::util {
namespace {

#if defined(__x86_64__)
// cpuid and xgetbv by hand rather than __builtin_cpu_supports: GCC's and clang's know
// different feature names, and the OS must have enabled the register state as well.
std::uint64_t xcr0() {
  std::uint32_t lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

CpuIsa detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return CpuIsa::kBaseline;
  const bool fma = c & (1u << 12), movbe = c & (1u << 22), osxsave = c & (1u << 27), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  if (!(osxsave && avx)) return CpuIsa::kBaseline;
  const std::uint64_t xcr = xcr0();
  if ((xcr & 0x6) != 0x6) return CpuIsa::kBaseline;  // XMM and YMM state
  unsigned a7, b7, c7, d7;
  if (!__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7)) return CpuIsa::kBaseline;
  unsigned ae, be, ce, de;
  const bool lzcnt = __get_cpuid(0x80000001u, &ae, &be, &ce, &de) && (ce & (1u << 5));
  const bool bmi1 = b7 & (1u << 3), avx2 = b7 & (1u << 5), bmi2 = b7 & (1u << 8);
  if (!(avx2 && fma && bmi1 && bmi2 && f16c && lzcnt && movbe)) return CpuIsa::kBaseline;
  const bool f = b7 & (1u << 16), dq = b7 & (1u << 17), cd = b7 & (1u << 28), bw = b7 & (1u << 30),
             vl = b7 & (1u << 31);
  const bool zmm_state = (xcr & 0xE6) == 0xE6;  // opmask, upper ZMM0-15, ZMM16-31
  if (f && dq && cd && bw && vl && zmm_state) return CpuIsa::kAvx512;
  return CpuIsa::kAvx2;
}
#else
CpuIsa detect() { return CpuIsa::kBaseline; }
#endif

IsaChoice choose() {
  const CpuIsa best = isa_supported();
  IsaChoice c{best, {}};
  const char* v = std::getenv("MIXUP_CPU_ISA");
  if (v == nullptr || *v == '\0') return c;
  for (const CpuIsa isa : {CpuIsa::kBaseline, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (std::strcmp(v, isa_name(isa)) != 0) continue;
    if (static_cast<int>(isa) > static_cast<int>(best))
      c.error = std::string("MIXUP_CPU_ISA=") + v + " is above what this CPU supports (at most " +
                isa_name(best) + ")";
    else c.level = isa;
    return c;
  }
  c.error = std::string("MIXUP_CPU_ISA=") + v + " is not a level: use baseline, avx2 or avx512 (or unset it)";
  return c;
}

std::atomic<int> forced{-1};

}  // namespace

const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512: return "avx512";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kBaseline: break;
  }
  return "baseline";
}

CpuIsa isa_supported() {
  static const CpuIsa best = detect();
  return best;
}

std::vector<CpuIsa> isa_levels_supported() {
  std::vector<CpuIsa> v;
  for (int l = 0; l <= static_cast<int>(isa_supported()); ++l) v.push_back(static_cast<CpuIsa>(l));
  return v;
}

const IsaChoice& isa_choice() {
  static const IsaChoice c = choose();
  return c;
}

CpuIsa cpu_isa() {
  const int f = forced.load(std::memory_order_relaxed);
  return f >= 0 ? static_cast<CpuIsa>(f) : isa_choice().level;
}

void force_cpu_isa_for_testing(CpuIsa isa) { forced.store(static_cast<int>(isa), std::memory_order_relaxed); }
void unforce_cpu_isa_for_testing() { forced.store(-1, std::memory_order_relaxed); }

}  // namespace mixup::util

// The CPU instruction-set level the library's and the trainer's vector loops run at: the
// project's own dispatch (no target_clones, no ifunc resolvers), chosen once per process —
// the best level this CPU and OS support, capped by MIXUP_CPU_ISA (as oneDNN's
// ONEDNN_MAX_CPU_ISA) so every level a machine has can be run and compared.
//
// Why the level cannot change results: the code of every level is the same source, compiled
// with -ffp-contract=off (no multiply-add is fused behind the source's back) and with the
// vector width and summation order written in the source, not chosen by the target. The levels
// differ only in instruction encoding, so they give the same bits (tests/test_cpu_isa.cpp and
// the trainer runs in tests/cpu_isa_levels.cmake check it).
#pragma once

#include <string>
#include <vector>

namespace mixup::util {

enum class CpuIsa { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

// "baseline" (x86-64), "avx2" (x86-64-v3: AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE), "avx512"
// (x86-64-v4: AVX-512 F, BW, CD, DQ, VL) — the values MIXUP_CPU_ISA takes.
const char* isa_name(CpuIsa isa);

// The best level this CPU and its OS (XSAVE state enabled) support; baseline off x86-64.
CpuIsa isa_supported();

// Every level up to isa_supported(), lowest first.
std::vector<CpuIsa> isa_levels_supported();

struct IsaChoice {
  CpuIsa level;       // what runs (on error: the best supported, never used by the library)
  std::string error;  // non-empty when MIXUP_CPU_ISA is not a level, or above what the CPU has
};

// Read once, on first use: MIXUP_CPU_ISA unset or empty means the best supported level.
const IsaChoice& isa_choice();

// The level to run at now: isa_choice().level, or the level a test forced.
CpuIsa cpu_isa();

// Tests only: run every later dispatch at `isa` (must be supported), or back to the choice.
void force_cpu_isa_for_testing(CpuIsa isa);
void unforce_cpu_isa_for_testing();

}  // namespace mixup::util

// Target attributes for the level's copies of a function (GCC and clang). A body shared by the
// copies must be always-inline so that each copy compiles it for its own level; an out-of-line
// helper taking 64-byte vectors would see another calling convention from each copy.
#if defined(__x86_64__)
#define MIXUP_TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))
#define MIXUP_TARGET_AVX2 __attribute__((target("arch=x86-64-v3")))
#define MIXUP_HAS_ISA_LEVELS 1
#else
#define MIXUP_TARGET_AVX512
#define MIXUP_TARGET_AVX2
#define MIXUP_HAS_ISA_LEVELS 0
#endif

// Defines `void name params` that runs `name##_body args` compiled for the chosen level.
// params and args are parenthesised lists: MIXUP_ISA_DISPATCH(f, (const float* x, int n), (x, n)).
#define MIXUP_ISA_DISPATCH(name, params, args)                               \
  MIXUP_TARGET_AVX512 static void name##_avx512 params { name##_body args; } \
  MIXUP_TARGET_AVX2 static void name##_avx2 params { name##_body args; }     \
  static void name##_baseline params { name##_body args; }                   \
  void name params {                                                         \
    switch (::mixup::util::cpu_isa()) {                                      \
      case ::mixup::util::CpuIsa::kAvx512: return name##_avx512 args;        \
      case ::mixup::util::CpuIsa::kAvx2: return name##_avx2 args;            \
      case ::mixup::util::CpuIsa::kBaseline: break;                          \
    }                                                                        \
    name##_baseline args;                                                    \
  }

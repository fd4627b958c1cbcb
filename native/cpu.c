/* Run-time choice of the kernels: cpuid says what the CPU can do, the best level is the default, and a
 * lower one can be forced (tests run every level the machine supports). In the WebAssembly build the
 * levels are portable C and SIMD128 (which the engine has, or the module would not have validated). Not a
 * feature-detection library: a few levels, nothing finer. */
#include "swat.h"

static const swat_isa_ops *active = NULL;

static const swat_isa_ops *table(enum swat_isa isa) {
  switch (isa) {
#if defined(__wasm__)
    case ISA_SIMD128: return &swat_ops_simd128;
#else
    case ISA_AVX512: return &swat_ops_avx512;
    case ISA_AVX2: return &swat_ops_avx2;
#endif
    default: return &swat_ops_portable;
  }
}

int cpu_isa_supported(enum swat_isa isa) {
  if (isa == ISA_PORTABLE) return 1;
#if defined(__wasm__)
  return isa == ISA_SIMD128;
#endif
  if (table(isa)->kernel == NULL) return 0; /* not compiled for this architecture */
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  /* F16C converts f16 weights; every CPU with AVX2 and FMA has it. */
  if (isa == ISA_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  if (isa == ISA_AVX512) return __builtin_cpu_supports("avx512f");
#endif
  return 0;
}

enum swat_isa cpu_best_isa(void) {
  if (cpu_isa_supported(ISA_AVX512)) return ISA_AVX512;
  if (cpu_isa_supported(ISA_AVX2)) return ISA_AVX2;
  if (cpu_isa_supported(ISA_SIMD128)) return ISA_SIMD128;
  return ISA_PORTABLE;
}

const char *cpu_isa_name(enum swat_isa isa) { return table(isa)->name ? table(isa)->name : "unknown"; }

void cpu_set_isa(enum swat_isa isa) { active = table(isa); }

const swat_isa_ops *cpu_ops(void) {
  if (!active) active = table(cpu_best_isa());
  return active;
}

# The native CPU backend (native/*.c), built by node-gyp during npm install. C11 with the warnings on and
# no global fast-math; ISA-specific kernels use function-level target attributes (kernels_*.c), so the
# addon itself stays baseline and picks AVX-512, AVX2+FMA or portable C at run time. The addon carries
# the hash of the sources it was compiled from (native/source-hash.mjs, computed when node-gyp configures),
# so tests can tell a current build from a stale one.
{
  "targets": [
    {
      "target_name": "swat_native",
      "sources": [
        "native/addon.c",
        "native/attention.c",
        "native/cpu.c",
        "native/decode_avx2.c",
        "native/decode_avx512.c",
        "native/decode_portable.c",
        "native/kernels_avx2.c",
        "native/kernels_avx512.c",
        "native/kernels_portable.c",
        "native/linear.c",
        "native/loss.c",
        "native/matmul.c",
        "native/norm.c",
        "native/optim.c",
        "native/pool_common.c",
        "native/threads.c"
      ],
      "defines": ["SWAT_SOURCE_HASH=\"<!(node native/source-hash.mjs)\""],
      "cflags!": ["-O2", "-O0", "-Os", "-Wno-unused-parameter"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-pthread"],
      "cflags_c": ["-std=c11"],
      "ldflags": ["-pthread"],
      "libraries": ["-lm"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "GCC_C_LANGUAGE_STANDARD": "c11",
        "OTHER_CFLAGS": ["-Wall", "-Wextra"]
      }
    }
  ]
}

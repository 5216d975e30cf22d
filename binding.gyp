{
  # The shipping build (node-gyp rebuild, prebuildify, scripts/install.js). CMakeLists.txt
  # builds the same sources with cmake-js for development; keep the two lists in step.
  #
  # Baseline ISA only (never -march=native): the AVX2 and the AVX-512 kernels live in their own
  # static libraries, the only code compiled with -mavx2 -mfma (and -mavx512f), and run only
  # when cpu.cc finds those features at run time. NEON is part of the arm64 baseline.
  "variables": {
    "ng_include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "native/kernels",
    ],
    "ng_defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
  },
  "target_defaults": {
    "include_dirs": ["<@(ng_include_dirs)"],
    "defines": ["<@(ng_defines)"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    # -ffp-contract=off as in CMakeLists.txt: no silent a*b+c -> fma, so the kernels round the
    # same way in both builds and on every architecture.
    "cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno"],
    "cflags_cc": ["-O3", "-std=c++17", "-fexceptions"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_OPTIMIZATION_LEVEL": "3",
      "OTHER_CFLAGS": ["-ffp-contract=off"],
      "MACOSX_DEPLOYMENT_TARGET": "10.15",
    },
    "msvs_settings": {
      "VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"]},
    },
  },
  "targets": [
    {
      "target_name": "nodegrad",
      "sources": [
        "native/addon.cc",
        "native/kernels/cpu.cc",
        "native/kernels/threadpool.cc",
        "native/kernels/gemm.cc",
        "native/kernels/gemm_pack.cc",
        "native/kernels/gemm_scalar.cc",
        "native/kernels/softmax_xent.cc",
        "native/kernels/elementwise.cc",
        "native/kernels/optim.cc",
        "native/kernels/fused.cc",
        "native/kernels/layernorm.cc",
        "native/kernels/embedding.cc",
        "native/kernels/batchnorm.cc",
        "native/kernels/conv.cc",
        "native/kernels/pool.cc",
        "native/kernels/workspace.cc",
      ],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["nodegrad_avx2", "nodegrad_avx512"]}],
        ["target_arch=='arm64'", {"sources": ["native/kernels/gemm_neon.cc"]}],
      ],
    },
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          # Every *_avx2.cc file goes here, and nowhere else.
          "target_name": "nodegrad_avx2",
          "type": "static_library",
          "sources": ["native/kernels/gemm_avx2.cc", "native/kernels/optim_avx2.cc"],
          "cflags": ["-mavx2", "-mfma"],
          "xcode_settings": {"OTHER_CFLAGS": ["-ffp-contract=off", "-mavx2", "-mfma"]},
          "msvs_settings": {"VCCLCompilerTool": {"EnableEnhancedInstructionSet": "5"}},
        },
        {
          # Every *_avx512.cc file goes here, and nowhere else.
          "target_name": "nodegrad_avx512",
          "type": "static_library",
          "sources": ["native/kernels/gemm_avx512.cc", "native/kernels/optim_avx512.cc"],
          "cflags": ["-mavx512f", "-mavx2", "-mfma"],
          "xcode_settings": {
            "OTHER_CFLAGS": ["-ffp-contract=off", "-mavx512f", "-mavx2", "-mfma"],
          },
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX512"]}},
        },
      ],
    }],
  ],
}

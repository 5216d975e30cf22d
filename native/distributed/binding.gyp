{
  # The optional collective module (Gloo), apart from the core addon so that neither build can
  # break the other: `npm run build:distributed` runs node-gyp in this directory when Gloo's
  # headers are present (Debian: apt-get install libgloo-dev). Output: build/Release/nodegrad_gloo.node.
  "targets": [
    {
      "target_name": "nodegrad_gloo",
      "sources": ["addon.cc", "process_group.cc", "tcp_store.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-O2", "-std=c++17", "-fexceptions", "-frtti"],
      "libraries": ["-lgloo"],
    },
  ],
}

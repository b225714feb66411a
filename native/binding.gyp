{
  "targets": [
    {
      "target_name": "cairn_engine",
      "sources": [
        "src/addon.cc",
        "src/crc32c.cc",
        "src/engine_thread.cc",
        "src/fd_kinds.cc",
        "src/files.cc",
        "src/huge_buffer.cc",
        "src/image_js.cc",
        "src/injection.cc",
        "src/job_objects.cc",
        "src/memory.cc",
        "src/namespaces.cc",
        "src/page_chain.cc",
        "src/pagecodec.cc",
        "src/progress.cc",
        "src/plan.cc",
        "src/precopy.cc",
        "src/process.cc",
        "src/procstate.cc",
        "src/procstate_js.cc",
        "src/ptys.cc",
        "src/restore.cc",
        "src/runcheck.cc",
        "src/sharing.cc",
        "src/snapshot.cc",
        "src/sockets.cc",
        "src/tcp_counters.cc",
        "src/tcp_remote_js.cc",
        "src/threads.cc",
        "src/tracking.cc",
        "src/worker_pool.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "include",
        "src"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "_GNU_SOURCE"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17",
        "-std=gnu++20"
      ],
      "cflags": [
        "-Wall",
        "-Wextra"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-fexceptions",
        "-Wall",
        "-Wextra"
      ],
      "libraries": [
        "-lpthread",
        "-lzstd",
        "-lz"
      ],
      "configurations": {
        "Release": {
          "cflags": [
            "-O2"
          ],
          "cflags_cc": [
            "-O2"
          ]
        },
        "Debug": {
          "cflags": [
            "-O1",
            "-g",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined"
          ],
          "cflags_cc": [
            "-O1",
            "-g",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined"
          ],
          "ldflags": [
            "-fsanitize=address,undefined"
          ]
        }
      }
    }
  ]
}

{
  "targets": [
    {
      "target_name": "korus_codecs",
      "sources": ["codecs.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I opus | sed s/-I//g)"],
      "libraries": ["<!@(pkg-config --libs opus opencore-amrnb opencore-amrwb vo-amrwbenc)"]
    }
  ]
}

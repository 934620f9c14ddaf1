{
  "targets": [
    {
      "target_name": "korus_video",
      "sources": ["video.c", "vdecjs.c", "vencjs.c", "vdec.c", "venc.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I libavcodec libswscale libavutil vpx x264 | sed s/-I//g)"],
      "libraries": ["<!@(pkg-config --libs libavcodec libswscale libavutil vpx x264)", "-pthread"]
    }
  ]
}

/**
 * mediabunny's muxer over the recorder's {@link FileSink} (fragmented MP4, WAV, Ogg; WebM/MKV only for audio other
 * than Opus, which the recorder never produces: its own writer, matroskaMuxer.ts, takes those). mediabunny's
 * StreamTarget hands over its chunks in file order; each goes into the sink's batch, and after each write to the
 * file the muxer's in-memory index is trimmed (muxerIndex.ts), so a long recording does not grow.
 */
import {
  MkvOutputFormat,
  Mp4OutputFormat,
  OggOutputFormat,
  Output,
  StreamTarget,
  WavOutputFormat,
  WebMOutputFormat,
  type StreamTargetChunk,
} from "mediabunny";
import type { FileSink } from "./fileSink.js";
import { trimMuxerIndex } from "./muxerIndex.js";
import type { Container } from "./profiles.js";

/** An Output writing `container` into `sink`: clusters, fragments or pages of at most `flushS` seconds. */
export function sinkOutput(container: Container, sink: FileSink, flushS: number): Output {
  const format =
    container === "mp4"
      ? new Mp4OutputFormat({ fastStart: "fragmented", minimumFragmentDuration: flushS })
      : container === "webm"
        ? new WebMOutputFormat({ appendOnly: true, minimumClusterDuration: flushS })
        : container === "wav"
          ? new WavOutputFormat()
          : container === "ogg"
            ? new OggOutputFormat({ maximumPageDuration: flushS })
            : new MkvOutputFormat({ appendOnly: true, minimumClusterDuration: flushS });
  let trimmedAt = 0;
  const writable = new WritableStream<StreamTargetChunk>({
    write: (chunk) => {
      sink.write(chunk.data, chunk.position);
      if (sink.writes !== trimmedAt) {
        trimmedAt = sink.writes;
        trimMuxerIndex(output); // after each write to the file: the muxer's index stays bounded
      }
    },
    close: () => sink.flush(),
  });
  const output = new Output({ format, target: new StreamTarget(writable) });
  return output;
}

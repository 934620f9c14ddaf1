/**
 * mediabunny keeps, for the whole life of an output, the index it writes when the output is finalised: a Matroska
 * CuePoint per cluster (WebM/MKV), and for a fragmented MP4 every fragment's chunk with the metadata of each of its
 * samples (for the `mfra` box). A live recording never needs it: a clean stop re-muxes the file with ffmpeg, which
 * writes its own Cues and index (finalize.ts), and a crash leaves no index at all. Left alone it grows without bound:
 * measured ~56 KiB per minute of a WebM audio recording and ~430 KiB per minute of a fragmented MP4 one, so 200
 * one-hour recordings would hold 0.7 GB (WebM) or 5 GB (MP4).
 *
 * {@link trimMuxerIndex} keeps the last entry of those lists (the index written at the end stays well-formed) and
 * drops the rest. These are mediabunny 1.61 internals (`Output._muxer`, `MatroskaMuxer.cues.data`,
 * `IsobmffMuxer.finalizedChunks` and each track's): they are read defensively, so if a later mediabunny changes them
 * nothing is touched (test/unit/media/record/RecordingWriterMemory.test.ts then fails, as it should).
 */
import type { Output } from "mediabunny";

const field = (o: unknown, key: string): unknown =>
  typeof o === "object" && o !== null ? (Reflect.get(o, key) as unknown) : undefined;

function keepLast(list: unknown): void {
  if (Array.isArray(list) && list.length > 1) {
    list.splice(0, list.length - 1);
  }
}

/** Drops all but the last entry of the muxer's in-memory index (see the file comment). */
export function trimMuxerIndex(output: Output): void {
  const muxer = field(output, "_muxer");
  keepLast(field(field(muxer, "cues"), "data"));
  keepLast(field(muxer, "finalizedChunks"));
  const tracks = field(muxer, "trackDatas");
  if (Array.isArray(tracks)) {
    for (const t of tracks as unknown[]) {
      keepLast(field(t, "finalizedChunks"));
    }
  }
}

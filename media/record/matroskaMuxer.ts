/**
 * The recorder's own WebM/Matroska writer for the live stream (issue 11: "mediabunny…, unless your own writer
 * measures better"). It writes what mediabunny's `appendOnly` Matroska muxer writes — the EBML header, a Segment and
 * Clusters of unknown size, Info and Tracks, then SimpleBlocks (no lacing), the tracks interleaved by timestamp — but
 * straight into the {@link FileSink}'s batch buffer: a frame's bytes are copied once, and a block of a one-track
 * recording costs no allocation (mediabunny: an async mutex, a promise chain, an EBML object tree, three copies of
 * the frame and a WritableStream write per frame). The recorder's cost per VP8 packet fell from ~47–64 µs to
 * ~14–22 µs (docs/recording.md, Cost). Duration and Cues come from the finalising pass (finalize.ts), as they did.
 *
 * Matroska (RFC 9559): element IDs and sizes are EBML variable-size integers (§4), an all-ones size is "unknown"
 * (a live Segment or Cluster, ended by the next element of a higher level); a SimpleBlock (§10.1) is the track
 * number (vint), a signed 16-bit timestamp relative to its Cluster's, one flags byte (0x80: keyframe), the frame.
 * TimestampScale 1,000,000: block timestamps in ms. WebM codec IDs: V_VP8, V_VP9, A_OPUS; Matroska adds
 * V_MPEG4/ISO/AVC with the AVCDecoderConfigurationRecord as CodecPrivate.
 *
 * Write errors are thrown to the caller (the sink throws its first error on every later call).
 */
import type { FileSink } from "./fileSink.js";

/** A track as the muxer declares it. */
export interface MkvVideoTrack {
  codec: "vp8" | "vp9" | "avc";
  /** RFC 6381 codec string (VP9: vp09.PP.LL.DD, for its CodecPrivate). */
  codecString: string;
  width: number;
  height: number;
  /** AVCDecoderConfigurationRecord (H.264). */
  description?: Uint8Array;
}

export interface MkvAudioTrack {
  channels: number;
  sampleRate: number;
  /** OpusHead, when the caller has one (mediabunny wrote none for passthrough either). */
  description?: Uint8Array;
}

/** Relative block timestamps are signed 16-bit ms (RFC 9559 §10.1). */
const MAX_REL_MS = 0x7fff;
const MIN_REL_MS = -0x8000;

/** A frame waiting for the other track (interleaving). */
interface Queued {
  data: Uint8Array;
  key: boolean;
  ms: number;
}

const CODEC_ID = { vp8: "V_VP8", vp9: "V_VP9", avc: "V_MPEG4/ISO/AVC" } as const;

export class MatroskaMuxer {
  readonly #sink: FileSink;
  /** Track numbers (0: absent). */
  readonly #audioNo: number;
  readonly #videoNo: number;
  /** Frames held for interleaving, per track. */
  readonly #audioQ: Queued[] = [];
  readonly #videoQ: Queued[] = [];
  /** Block header scratch: ID, size, track, timestamp, flags. */
  readonly #head = new Uint8Array(16);
  readonly #minClusterMs: number;
  #clusterMs = -1;
  #clusterMaxMs = -1;
  #ended = false;

  /**
   * Writes the header at the sink's current end (a fresh file). `minClusterSec`: a new Cluster begins at a keyframe
   * at least this long after the current one's start (mediabunny's `minimumClusterDuration`).
   */
  constructor(
    sink: FileSink,
    docType: "webm" | "matroska",
    tracks: { audio?: MkvAudioTrack | undefined; video?: MkvVideoTrack | undefined },
    minClusterSec: number,
  ) {
    this.#sink = sink;
    this.#minClusterMs = minClusterSec * 1000;
    this.#audioNo = tracks.audio === undefined ? 0 : 1;
    this.#videoNo = tracks.video === undefined ? 0 : this.#audioNo + 1;
    const w = new EbmlBuilder();
    w.master(0x1a45dfa3, () => {
      w.uint(0x4286, 1); // EBMLVersion
      w.uint(0x42f7, 1); // EBMLReadVersion
      w.uint(0x42f2, 4); // EBMLMaxIDLength
      w.uint(0x42f3, 8); // EBMLMaxSizeLength
      w.string(0x4282, docType);
      w.uint(0x4287, 4); // DocTypeVersion
      w.uint(0x4285, 2); // DocTypeReadVersion
    });
    w.unknownSize(0x18538067); // Segment
    w.master(0x1549a966, () => {
      w.uint(0x2ad7b1, 1e6); // TimestampScale: ms
      w.string(0x4d80, "Korus"); // MuxingApp
      w.string(0x5741, "Korus"); // WritingApp
    });
    w.master(0x1654ae6b, () => {
      if (tracks.audio !== undefined) {
        this.#audioEntry(w, this.#audioNo, tracks.audio);
      }
      if (tracks.video !== undefined) {
        this.#videoEntry(w, this.#videoNo, tracks.video);
      }
    });
    sink.append(w.bytes());
  }

  #audioEntry(w: EbmlBuilder, n: number, a: MkvAudioTrack): void {
    w.master(0xae, () => {
      trackHead(w, n, 2, "A_OPUS");
      if (a.description !== undefined) {
        w.binary(0x63a2, a.description); // CodecPrivate
      }
      w.uint(0x56bb, 80e6); // SeekPreRoll: 80 ms (RFC 7845 §4.6)
      w.master(0xe1, () => {
        w.float(0xb5, a.sampleRate); // SamplingFrequency
        w.uint(0x9f, a.channels); // Channels
      });
    });
  }

  #videoEntry(w: EbmlBuilder, n: number, v: MkvVideoTrack): void {
    w.master(0xae, () => {
      trackHead(w, n, 1, CODEC_ID[v.codec]);
      const priv = v.codec === "avc" ? v.description : v.codec === "vp9" ? vp9CodecPrivate(v.codecString) : undefined;
      if (priv !== undefined) {
        w.binary(0x63a2, priv); // CodecPrivate
      }
      w.master(0xe0, () => {
        w.uint(0xb0, v.width); // PixelWidth
        w.uint(0xba, v.height); // PixelHeight
      });
    });
  }

  /** An audio frame (Opus packet) at `tSec`; timestamps per track must not decrease. */
  audio(data: Uint8Array, tSec: number): void {
    this.#add(this.#audioNo, this.#videoNo, this.#audioQ, this.#videoQ, data, true, tSec);
  }

  /** A video frame at `tSec` (kept by reference while it waits for the audio). */
  video(data: Uint8Array, key: boolean, tSec: number): void {
    this.#add(this.#videoNo, this.#audioNo, this.#videoQ, this.#audioQ, data, key, tSec);
  }

  #add(
    track: number,
    other: number,
    mine: Queued[],
    theirs: Queued[],
    data: Uint8Array,
    key: boolean,
    tSec: number,
  ): void {
    if (this.#ended || track === 0) {
      return;
    }
    const ms = Math.round(tSec * 1000);
    if (other === 0) {
      this.#block(track, data, key, ms, key); // one track: no interleaving, nothing held
      return;
    }
    if (theirs.length === 0) {
      mine.push({ data, key, ms }); // held until the other track has a frame: written in timestamp order
      return;
    }
    mine.push({ data, key, ms });
    this.#interleave(false);
  }

  /** Writes the earliest queued frame while both tracks have one (all of them when `drain`). */
  #interleave(drain: boolean): void {
    const qa = this.#audioQ;
    const qv = this.#videoQ;
    for (;;) {
      const a = qa[0];
      const v = qv[0];
      if ((a === undefined || v === undefined) && !drain) {
        return;
      }
      if (a === undefined && v === undefined) {
        return;
      }
      const isAudio = v === undefined || (a !== undefined && a.ms <= v.ms);
      const f = (isAudio ? qa : qv).shift();
      if (f === undefined) {
        return;
      }
      // A new Cluster only where every track can begin it with a keyframe (audio frames all are).
      const otherHead = (isAudio ? qv : qa)[0];
      const keyEverywhere = f.key && (otherHead === undefined ? drain : otherHead.key);
      this.#block(isAudio ? this.#audioNo : this.#videoNo, f.data, f.key, f.ms, keyEverywhere);
    }
  }

  /** One SimpleBlock of track number `track`, opening a Cluster first when due. */
  #block(track: number, data: Uint8Array, key: boolean, ms: number, clusterMayStart: boolean): void {
    let rel = ms - this.#clusterMs;
    if (
      this.#clusterMs < 0 ||
      (clusterMayStart && ms > this.#clusterMaxMs && rel >= this.#minClusterMs) ||
      rel > MAX_REL_MS
    ) {
      this.#cluster(Math.max(0, ms));
      rel = ms - this.#clusterMs;
    }
    if (rel < MIN_REL_MS) {
      return; // too far before the Cluster to be written in it (mediabunny discards it too)
    }
    const h = this.#head;
    const size = 4 + data.length;
    h[0] = 0xa3; // SimpleBlock
    let i = 1 + writeVint(h, 1, size);
    h[i++] = 0x80 | track; // track number, a 1-byte vint
    h[i++] = (rel >> 8) & 0xff;
    h[i++] = rel & 0xff;
    h[i++] = key ? 0x80 : 0;
    this.#sink.append(h, i);
    this.#sink.append(data);
    if (ms > this.#clusterMaxMs) {
      this.#clusterMaxMs = ms;
    }
  }

  #cluster(ms: number): void {
    const h = this.#head;
    h.set([0x1f, 0x43, 0xb6, 0x75, 0xff, 0xe7], 0); // Cluster, unknown size, Timestamp…
    const n = uintBytes(ms);
    h[6] = 0x80 | n;
    for (let k = 0; k < n; k++) {
      h[7 + k] = Math.floor(ms / 2 ** (8 * (n - 1 - k))) & 0xff;
    }
    this.#sink.append(h, 7 + n);
    this.#clusterMs = ms;
    this.#clusterMaxMs = ms;
  }

  /** Writes the frames still held for interleaving; later frames are ignored. */
  finish(): void {
    if (!this.#ended) {
      this.#interleave(true);
      this.#ended = true;
    }
  }
}

function trackHead(w: EbmlBuilder, n: number, type: number, codecId: string): void {
  w.uint(0xd7, n); // TrackNumber
  w.uint(0x73c5, n); // TrackUID
  w.uint(0x83, type); // TrackType: 1 video, 2 audio
  w.uint(0x9c, 0); // FlagLacing
  w.string(0x22b59c, "und"); // Language
  w.string(0x86, codecId); // CodecID
}

/** WebM's VP9 CodecPrivate (profile, level, bit depth, chroma subsampling) from vp09.PP.LL.DD[.CC]. */
function vp9CodecPrivate(codecString: string): Uint8Array {
  const p = codecString.split(".").map(Number);
  return Uint8Array.of(1, 1, p[1] ?? 0, 2, 1, p[2] ?? 10, 3, 1, p[3] ?? 8, 4, 1, p[4] ?? 1);
}

/** Bytes of an unsigned integer (1–7). */
function uintBytes(v: number): number {
  let n = 1;
  while (n < 7 && v >= 2 ** (8 * n)) {
    n++;
  }
  return n;
}

/** Writes `v` as the shortest EBML vint (1–4 bytes here) at `at`; returns its length. */
function writeVint(b: Uint8Array, at: number, v: number): number {
  if (v < 0x7f) {
    b[at] = 0x80 | v;
    return 1;
  }
  if (v < 0x3fff) {
    b[at] = 0x40 | (v >> 8);
    b[at + 1] = v & 0xff;
    return 2;
  }
  if (v < 0x1fffff) {
    b[at] = 0x20 | (v >> 16);
    b[at + 1] = (v >> 8) & 0xff;
    b[at + 2] = v & 0xff;
    return 3;
  }
  b[at] = 0x10 | ((v >>> 24) & 0x0f);
  b[at + 1] = (v >> 16) & 0xff;
  b[at + 2] = (v >> 8) & 0xff;
  b[at + 3] = v & 0xff;
  return 4;
}

/** Builds the (small, once per file) header elements into bytes. */
class EbmlBuilder {
  #out: number[] = [];

  bytes(): Uint8Array {
    return Uint8Array.from(this.#out);
  }

  #id(id: number): void {
    const n = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
    for (let k = n - 1; k >= 0; k--) {
      this.#out.push(Math.floor(id / 2 ** (8 * k)) & 0xff);
    }
  }

  #element(id: number, body: readonly number[] | Uint8Array): void {
    this.#id(id);
    const len = new Uint8Array(4);
    const n = writeVint(len, 0, body.length);
    this.#out.push(...len.subarray(0, n), ...body);
  }

  uint(id: number, v: number): void {
    const n = uintBytes(v);
    const body: number[] = [];
    for (let k = n - 1; k >= 0; k--) {
      body.push(Math.floor(v / 2 ** (8 * k)) & 0xff);
    }
    this.#element(id, body);
  }

  float(id: number, v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    this.#element(id, b);
  }

  string(id: number, s: string): void {
    this.#element(
      id,
      Uint8Array.from(s, (c) => c.charCodeAt(0) & 0x7f),
    );
  }

  binary(id: number, b: Uint8Array): void {
    this.#element(id, b);
  }

  /** A master element: its children are built by `body`, then sized. */
  master(id: number, body: () => void): void {
    const outer = this.#out;
    this.#out = [];
    body();
    const inner = this.#out;
    this.#out = outer;
    this.#element(id, inner);
  }

  /** A master element of unknown size (live Segment): what follows is its content. */
  unknownSize(id: number): void {
    this.#id(id);
    this.#out.push(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  }
}

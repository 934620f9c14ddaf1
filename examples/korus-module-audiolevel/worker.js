// @ts-check
/**
 * Worker entry of the audiolevel module: Korus imports it in every media worker and calls its default export with the
 * element SDK (docs/modules.md). It imports nothing from Korus: the base class comes from `sdk`.
 *
 * @typedef {import("../../media/sdk/index.js").WorkerSdk} WorkerSdk
 * @typedef {import("../../media/sdk/index.js").ElementContext} ElementContext
 * @typedef {import("../../media/sdk/index.js").JsonObject} JsonObject
 * @typedef {{ AudioLevel: { level: number } }} AudioLevelEvents
 */

/** Levels are clamped here (RFC 6464's range: 0 to -127 dBov). */
const FLOOR_DBOV = -127;

/** @param {unknown} v */
function checkPeriod(v) {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 20 || v > 10000) {
    throw new TypeError("'period' must be an integer from 20 to 10000 (ms)");
  }
  return v;
}

/** @param {WorkerSdk} sdk */
export default function register(sdk) {
  /** @extends {sdk.AudioFilter<AudioLevelEvents>} */
  class AudioLevelFilter extends sdk.AudioFilter {
    /** Samples per event at 8 kHz (period × 8). */
    #samplesPerEvent;
    #sumSquares = 0;
    #samples = 0;

    /**
     * @param {ElementContext} ctx
     * @param {JsonObject} params
     */
    constructor(ctx, params) {
      super(ctx, params);
      this.#samplesPerEvent = checkPeriod(params["period"] ?? 200) * 8;
    }

    /** Narrowband is enough for a level: 8 kHz, 20 ms frames, observed only. */
    audioFormat() {
      return { sampleRate: 8000, frameMs: 20, mode: /** @type {const} */ ("analyze") };
    }

    /** @param {Int16Array} frame */
    processAudio(frame) {
      let sum = 0;
      for (let i = 0; i < frame.length; i++) {
        const s = frame[i] ?? 0;
        sum += s * s;
      }
      this.#sumSquares += sum;
      this.#samples += frame.length;
      if (this.#samples >= this.#samplesPerEvent) {
        const rms = Math.sqrt(this.#sumSquares / this.#samples) / 32768;
        const level = rms > 0 ? Math.max(FLOOR_DBOV, 20 * Math.log10(rms)) : FLOOR_DBOV;
        this.context.emit("AudioLevel", { level: Math.round(level * 100) / 100 });
        this.#sumSquares = 0;
        this.#samples = 0;
      }
      return undefined;
    }

    operations() {
      return {
        ...super.operations(),
        getPeriod: () => this.#samplesPerEvent / 8,
        /** @param {JsonObject} args */
        setPeriod: (args) => {
          this.#samplesPerEvent = checkPeriod(args["period"]) * 8;
          return null;
        },
      };
    }
  }

  sdk.registerElement("AudioLevelFilter", AudioLevelFilter);
}

/** Bencode (rtpengine's ng protocol): integers, byte strings, lists and dictionaries. */
export type BValue = number | string | BValue[] | { [k: string]: BValue };

export function bencode(v: BValue): Buffer {
  if (typeof v === "number") {
    return Buffer.from(`i${Math.trunc(v)}e`);
  }
  if (typeof v === "string") {
    const b = Buffer.from(v, "utf8");
    return Buffer.concat([Buffer.from(`${b.length}:`), b]);
  }
  if (Array.isArray(v)) {
    return Buffer.concat([Buffer.from("l"), ...v.map(bencode), Buffer.from("e")]);
  }
  const keys = Object.keys(v).sort();
  return Buffer.concat([Buffer.from("d"), ...keys.flatMap((k) => [bencode(k), bencode(v[k] ?? "")]), Buffer.from("e")]);
}

export function bdecode(b: Buffer): BValue {
  let i = 0;
  const parse = (): BValue => {
    const c = b[i];
    if (c === 0x69) {
      const e = b.indexOf(0x65, i);
      const n = Number(b.subarray(i + 1, e).toString());
      i = e + 1;
      return n;
    }
    if (c === 0x6c) {
      i++;
      const out: BValue[] = [];
      while (b[i] !== 0x65 && i < b.length) {
        out.push(parse());
      }
      i++;
      return out;
    }
    if (c === 0x64) {
      i++;
      const out: Record<string, BValue> = {};
      while (b[i] !== 0x65 && i < b.length) {
        const k = bstr(parse());
        out[k] = parse();
      }
      i++;
      return out;
    }
    const colon = b.indexOf(0x3a, i);
    const len = Number(b.subarray(i, colon).toString());
    const s = b.subarray(colon + 1, colon + 1 + len).toString("utf8");
    i = colon + 1 + len;
    return s;
  };
  return parse();
}

/** A string or number value as text ("" for lists and dictionaries). */
export function bstr(v: BValue | undefined): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

/**
 * SRTP key derivation (RFC 3711 §4.3, key derivation rate 0): the session keys of one master key, for SRTP and SRTCP.
 *
 * The PRF is AES-CM under the master key (RFC 3711 §4.3.3; AES-256-CM for 256-bit keys, RFC 6188 §7). The AEAD
 * suites use the same PRF; their 96-bit master salt is multiplied by 2^16 to form the 112-bit PRF salt (RFC 7714
 * §11, erratum 4938), i.e. padded with two zero bytes, as libsrtp and werift do.
 */
import { createCipheriv } from "node:crypto";
import type { SrtpSuite } from "./SrtpSuite.js";

/** HMAC-SHA1 key length (RFC 3711 §8.2: n_a = 160 bits). */
const AUTH_KEY_LENGTH = 20;

/** The session keys of one direction and one protocol (RFC 3711 §4.3: k_e, k_a, k_s). */
export interface SessionKeys {
  readonly encryption: Buffer;
  /** HMAC-SHA1 key; empty for the AEAD suites. */
  readonly auth: Buffer;
  readonly salt: Buffer;
}

/** The session keys of one master key. */
export interface DerivedKeys {
  readonly rtp: SessionKeys;
  readonly rtcp: SessionKeys;
}

/** AES in counter mode (the RFC 3711 §4.1.1 keystream XORed onto `data`), into a new buffer. */
export function aesCtr(key: Buffer, iv: Buffer, data: Uint8Array): Buffer {
  const c = createCipheriv(key.length === 32 ? "aes-256-ctr" : "aes-128-ctr", key, iv);
  const out = c.update(data);
  c.final();
  return out;
}

/**
 * The AES-CM PRF of RFC 3711 §4.3.1/§4.3.3 with a key derivation rate of 0: `length` bytes of keystream under the
 * master key from IV = (label · 2^48 XOR master salt) · 2^16. A 12-byte (AEAD) salt is padded with zeros.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, Math.min(14, masterSalt.length));
  iv[7]! ^= label;
  return aesCtr(masterKey, iv, Buffer.alloc(length));
}

/** The SRTP and SRTCP session keys of `suite` from its master key and salt. */
export function deriveKeys(suite: SrtpSuite, masterKey: Buffer, masterSalt: Buffer): DerivedKeys {
  const authLength = suite.cipher === "cm" ? AUTH_KEY_LENGTH : 0;
  // §4.3.1 labels: encryption key, authentication key, salt; 0, 1, 2 for SRTP and 3, 4, 5 for SRTCP.
  const derive = (first: number): SessionKeys => ({
    encryption: deriveSessionKey(masterKey, masterSalt, first, suite.keyLength),
    auth: deriveSessionKey(masterKey, masterSalt, first + 1, authLength),
    salt: deriveSessionKey(masterKey, masterSalt, first + 2, suite.saltLength),
  });
  return { rtp: derive(0), rtcp: derive(3) };
}

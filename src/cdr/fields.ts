/** Small value helpers shared by the CDR recorder's files (record building, journal and bot state restoring). */

/** Epoch ms as an ISO 8601 UTC time. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** `v` rounded to `digits` decimals. */
export const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Whether `v` is a finite number. */
export const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** `v` when it is a string, else null. */
export const strOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);

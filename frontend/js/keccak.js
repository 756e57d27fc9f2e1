// Keccak-256 (the Ethereum hash, not NIST SHA3-256: padding 0x01), ~1 KB instead of a library.
// State: 25 lanes of 64 bits kept as 50 uint32 halves (lo, hi), lane index x + 5y.

const RC = [ // round constants, [lo, hi]
  1, 0, 0x8082, 0, 0x808a, 0x80000000, 0x80008000, 0x80000000, 0x808b, 0, 0x80000001, 0,
  0x80008081, 0x80000000, 0x8009, 0x80000000, 0x8a, 0, 0x88, 0, 0x80008009, 0, 0x8000000a, 0,
  0x8000808b, 0, 0x8b, 0x80000000, 0x8089, 0x80000000, 0x8003, 0x80000000, 0x8002, 0x80000000,
  0x80, 0x80000000, 0x800a, 0, 0x8000000a, 0x80000000, 0x80008081, 0x80000000, 0x8080, 0x80000000,
  0x80000001, 0, 0x80008008, 0x80000000,
];
const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
const PI = new Uint8Array(25); // lane i = x + 5y moves to y + 5((2x + 3y) mod 5)
for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) PI[x + 5 * y] = y + 5 * ((2 * x + 3 * y) % 5);

const C = new Uint32Array(10);
const B = new Uint32Array(50);

function permute(s) {
  for (let round = 0; round < 24; round++) {
    // theta
    for (let x = 0; x < 5; x++) {
      C[2 * x] = s[2 * x] ^ s[2 * x + 10] ^ s[2 * x + 20] ^ s[2 * x + 30] ^ s[2 * x + 40];
      C[2 * x + 1] = s[2 * x + 1] ^ s[2 * x + 11] ^ s[2 * x + 21] ^ s[2 * x + 31] ^ s[2 * x + 41];
    }
    for (let x = 0; x < 5; x++) {
      const l = C[2 * ((x + 1) % 5)], h = C[2 * ((x + 1) % 5) + 1];
      const dl = C[2 * ((x + 4) % 5)] ^ ((l << 1) | (h >>> 31));
      const dh = C[2 * ((x + 4) % 5) + 1] ^ ((h << 1) | (l >>> 31));
      for (let y = 0; y < 25; y += 5) { s[2 * (x + y)] ^= dl; s[2 * (x + y) + 1] ^= dh; }
    }
    // rho and pi
    for (let i = 0; i < 25; i++) {
      let l = s[2 * i], h = s[2 * i + 1], n = ROT[i];
      if (n >= 32) { const t = l; l = h; h = t; n -= 32; }
      const j = PI[i];
      if (n === 0) { B[2 * j] = l; B[2 * j + 1] = h; } else {
        B[2 * j] = (l << n) | (h >>> (32 - n));
        B[2 * j + 1] = (h << n) | (l >>> (32 - n));
      }
    }
    // chi
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) {
        const a = 2 * (y + x), b = 2 * (y + (x + 1) % 5), c = 2 * (y + (x + 2) % 5);
        s[a] = B[a] ^ (~B[b] & B[c]);
        s[a + 1] = B[a + 1] ^ (~B[b + 1] & B[c + 1]);
      }
    }
    // iota
    s[0] ^= RC[2 * round];
    s[1] ^= RC[2 * round + 1];
  }
}

const RATE = 136; // bytes, for a 256-bit output

/** keccak256 of bytes (Uint8Array) or a string (UTF-8), as a Uint8Array(32). */
export function keccak256(input) {
  const data = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const s = new Uint32Array(50);
  const blocks = Math.floor(data.length / RATE) + 1;
  const padded = new Uint8Array(blocks * RATE);
  padded.set(data);
  padded[data.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  for (let off = 0; off < padded.length; off += RATE) {
    for (let i = 0; i < RATE / 4; i++) {
      const k = off + 4 * i;
      s[i] ^= padded[k] | (padded[k + 1] << 8) | (padded[k + 2] << 16) | (padded[k + 3] << 24);
    }
    permute(s);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = s[i];
    out[4 * i] = w & 0xff; out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff; out[4 * i + 3] = w >>> 24;
  }
  return out;
}

export function toHex(bytes) {
  let hex = "0x";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** keccak256 as a 0x-prefixed hex string. */
export const keccakHex = (input) => toHex(keccak256(input));

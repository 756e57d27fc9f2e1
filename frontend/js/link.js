// GS1 Digital Link parsing: the unit this page was opened for, from the path
// (`/01/{GTIN}/10/{lot}`, optionally after a path prefix) or from `#/01/...` on static hosts
// without rewrites. Mirrors src/milktrace/identifiers.py.

import { keccakHex } from "./keccak.js";

const LOT_RE = /^[A-Za-z0-9._-]{1,20}$/;

export class LinkError extends Error {
  /** @param {string} reason catalogue key suffix (link.error.*) @param {object} vars */
  constructor(reason, vars = {}) {
    super(reason);
    this.reason = reason;
    this.vars = vars;
  }
}

export function gs1CheckDigit(body) {
  let total = 0;
  for (let i = 0; i < body.length; i++) {
    const d = body.charCodeAt(body.length - 1 - i) - 48;
    total += d * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (total % 10)) % 10;
}

/** A GTIN-8/12/13/14 as GTIN-14 with a verified check digit; throws LinkError. */
export function normalizeGtin(text) {
  if (!/^\d+$/.test(text)) throw new LinkError("gtinDigits", { gtin: text });
  let gtin = text;
  if ([8, 12, 13].includes(gtin.length)) gtin = gtin.padStart(14, "0");
  if (gtin.length !== 14) throw new LinkError("gtinLength", { gtin: text });
  const want = gs1CheckDigit(gtin.slice(0, 13));
  if (Number(gtin[13]) !== want) {
    throw new LinkError("gtinCheck", { gtin: text, found: gtin[13], expected: String(want) });
  }
  return gtin;
}

function decodeSegment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new LinkError("encoding", { part: s });
  }
}

/**
 * The batch a URL names. Returns {path, gtin, lot, expiry (YYMMDD or null), id} or null when
 * the URL names no unit at all (the landing page); throws LinkError when it is malformed.
 */
export function parseLocation(loc) {
  let path = loc.pathname;
  let query = loc.search;
  if (loc.hash.startsWith("#/")) {
    const frag = loc.hash.slice(1);
    const q = frag.indexOf("?");
    path = q < 0 ? frag : frag.slice(0, q);
    query = q < 0 ? "" : frag.slice(q);
  }
  const segs = path.split("/").filter(Boolean).map(decodeSegment);
  const start = segs.findIndex((s, i) => (s === "01" || s === "00") && i + 1 < segs.length);
  if (start < 0) {
    if (segs.length === 0 || (segs.length === 1 && segs[0] === "index.html")) return null;
    throw new LinkError("notDigitalLink", { part: path });
  }
  const key = segs.slice(start);
  if (key[0] === "00") throw new LinkError("sscc", { part: key.join("/") });
  const gtin = normalizeGtin(key[1]);
  if (key.length === 4 && key[2] === "21") throw new LinkError("serial", { part: key.join("/") });
  if (key.length !== 4 || key[2] !== "10") throw new LinkError("noLot", { part: "/" + key.join("/") });
  const lot = key[3];
  if (!LOT_RE.test(lot)) throw new LinkError("lot", { lot });
  const params = new URLSearchParams(query);
  const expiry = params.get("17");
  const canonical = `/01/${gtin}/10/${lot}`;
  return {
    path: canonical,
    gtin,
    lot,
    expiry: expiry && /^\d{6}$/.test(expiry) ? expiry : null,
    id: keccakHex(canonical),
  };
}

/** The batch id (keccak256 of the canonical Digital Link path) of a GTIN-14 and lot. */
export const batchIdOf = (gtin, lot) => keccakHex(`/01/${gtin}/10/${lot}`);

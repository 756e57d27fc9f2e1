// Hand-written decoders for the registry's frozen events (contracts/interfaces/ITraceRegistry.sol).
// Topic 0 of each event is keccak256 of its signature; tests compare them with web3's ABI.

import { keccakHex } from "./keccak.js";

export const SIGNATURES = {
  OrganisationAdmitted: "OrganisationAdmitted(address,uint32,uint64,string,bytes2)",
  BatchCommissioned:
    "BatchCommissioned(bytes32,bytes32,address,uint64,string,uint32,uint32,uint64,bytes8,uint64,bytes32[],uint64)",
  BatchDerived: "BatchDerived(bytes32,bytes32,bytes32)",
  CustodyHandedOver: "CustodyHandedOver(bytes32,bytes32,address,address,uint64)",
  CustodyAccepted: "CustodyAccepted(bytes32,bytes32,address,address,uint64)",
  CustodyHandOverCancelled: "CustodyHandOverCancelled(bytes32,bytes32,address,address,uint64)",
  QualityRecorded: "QualityRecorded(bytes32,bytes32,address,bytes16,bool,int64,bytes8,bytes32,uint64)",
  ConditionRecorded: "ConditionRecorded(bytes32,bytes32,address,bytes32,uint32,int32,int32,bool,uint64)",
  BatchStatusChanged: "BatchStatusChanged(bytes32,bytes32,address,uint8,bytes16,bytes32,uint64)",
  EventAnchored: "EventAnchored(bytes32,bytes32,address,uint8,uint64)",
};

export const TOPIC = {};
const NAME_OF = new Map();
for (const [name, sig] of Object.entries(SIGNATURES)) {
  TOPIC[name] = keccakHex(sig);
  NAME_OF.set(TOPIC[name], name);
}

export const STATUS = ["Unknown", "Active", "Quarantined", "Released", "Recalled"];
export const ANCHOR_KIND = ["Object", "Aggregation", "Transformation", "Transaction", "Association"];

// ---------------------------------------------------------------- words

const hexBody = (hex) => (hex.startsWith("0x") ? hex.slice(2) : hex);
const wordHex = (data, i) => data.slice(64 * i, 64 * i + 64);
const uint = (data, i) => BigInt("0x" + (wordHex(data, i) || "0"));
const num = (data, i) => Number(uint(data, i));
const int = (data, i, bits) => BigInt.asIntN(bits, uint(data, i));
const bool = (data, i) => uint(data, i) !== 0n;
const b32 = (data, i) => "0x" + wordHex(data, i);
const addressOfWord = (w) => "0x" + hexBody(w).slice(24).toLowerCase();

/** Left-aligned ASCII of a bytesN word (test codes, units, reasons), up to the first zero. */
function ascii(data, i, size) {
  const w = wordHex(data, i);
  let out = "";
  for (let k = 0; k < size; k++) {
    const c = parseInt(w.slice(2 * k, 2 * k + 2), 16);
    if (c === 0) break;
    out += String.fromCharCode(c);
  }
  return out;
}

function bytesAt(data, byteOffset, length) {
  const out = new Uint8Array(length);
  const start = 2 * byteOffset;
  for (let k = 0; k < length; k++) out[k] = parseInt(data.slice(start + 2 * k, start + 2 * k + 2), 16);
  return out;
}

/** A dynamic `string` whose head word is word `i`. */
function string(data, i) {
  const off = num(data, i);
  const len = Number(BigInt("0x" + data.slice(2 * off, 2 * off + 64)));
  return new TextDecoder("utf-8").decode(bytesAt(data, off + 32, len));
}

/** A dynamic `bytes32[]` whose head word is word `i`. */
function bytes32Array(data, i) {
  const off = num(data, i);
  const n = Number(BigInt("0x" + data.slice(2 * off, 2 * off + 64)));
  const out = [];
  for (let k = 0; k < n; k++) out.push("0x" + data.slice(2 * off + 64 + 64 * k, 2 * off + 128 + 64 * k));
  return out;
}

// ---------------------------------------------------------------- events

const DECODERS = {
  OrganisationAdmitted: (t, d) => ({
    account: addressOfWord(t[1]), orgId: Number(BigInt(t[2])), gln: BigInt(t[3]).toString().padStart(13, "0"),
    name: string(d, 0), country: ascii(d, 1, 2),
  }),
  BatchCommissioned: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]),
    gtin: uint(d, 0).toString().padStart(14, "0"), lot: string(d, 1),
    productionDate: num(d, 2), expiryDate: num(d, 3), quantity: uint(d, 4), unit: ascii(d, 5, 8),
    siteGln: uint(d, 6).toString().padStart(13, "0"), parents: bytes32Array(d, 7), eventTime: num(d, 8),
  }),
  BatchDerived: (t) => ({ batchId: t[1], eventId: t[2], childId: t[3] }),
  CustodyHandedOver: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]), from: addressOfWord(t[3]),
    to: addressOfWord(wordHex(d, 0)), eventTime: num(d, 1),
  }),
  CustodyAccepted: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]), to: addressOfWord(t[3]),
    from: addressOfWord(wordHex(d, 0)), eventTime: num(d, 1),
  }),
  CustodyHandOverCancelled: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]), from: addressOfWord(t[3]),
    to: addressOfWord(wordHex(d, 0)), eventTime: num(d, 1),
  }),
  QualityRecorded: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]), testCode: ascii(d, 0, 16),
    passed: bool(d, 1), value: int(d, 2, 64), unit: ascii(d, 3, 8), reportHash: b32(d, 4),
    eventTime: num(d, 5),
  }),
  ConditionRecorded: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]), readingsRoot: b32(d, 0),
    count: num(d, 1), minValue: Number(int(d, 2, 32)), maxValue: Number(int(d, 3, 32)),
    alarm: bool(d, 4), eventTime: num(d, 5),
  }),
  BatchStatusChanged: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]), status: STATUS[num(d, 0)] || "Unknown",
    reason: ascii(d, 1, 16), noticeHash: b32(d, 2), eventTime: num(d, 3),
  }),
  EventAnchored: (t, d) => ({
    batchId: t[1], eventId: t[2], actor: addressOfWord(t[3]), kind: ANCHOR_KIND[num(d, 0)] || "?",
    eventTime: num(d, 1),
  }),
};

/**
 * Decodes a raw eth_getLogs entry of one of the events above into
 * {event, block, logIndex, tx, ...fields}; returns null for any other log.
 */
export function decodeLog(log) {
  const name = NAME_OF.get((log.topics[0] || "").toLowerCase());
  if (!name) return null;
  try {
    const fields = DECODERS[name](log.topics.map((x) => x.toLowerCase()), hexBody(log.data || "0x"));
    return {
      event: name,
      block: Number(BigInt(log.blockNumber)),
      logIndex: Number(BigInt(log.logIndex)),
      tx: log.transactionHash,
      ...fields,
    };
  } catch {
    return null; // a log that does not fit the frozen layout is not ours
  }
}

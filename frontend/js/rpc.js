// JSON-RPC over fetch, always as batch POSTs (an array of calls, one HTTP round trip), and
// eth_getLogs that survives providers capping ranges.
//
// Log queries first ask for the whole range [deployBlock, latest] in one call. When the
// provider refuses (range too wide, too many results, -32005 ...), the failed query is split
// into block ranges: the size the error suggests ("this block range should work: [0x.., 0x..]"
// or "up to a 2000 block range"), else half, and all ranges go in one batch POST (at most
// MAX_BATCH calls per POST, POSTs in parallel). A range still refused is split again; a single
// block refused is an error. The span learned is kept, so later queries start chunked.

export const MAX_BATCH = 100;

export class RpcError extends Error {
  /** @param {"network"|"http"|"rpc"|"timeout"} kind */
  constructor(kind, message, code = null) {
    super(message);
    this.kind = kind;
    this.code = code;
  }
}

const hex = (n) => "0x" + n.toString(16);

export class Rpc {
  constructor(url, { timeoutMs = 15000 } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.roundTrips = 0;
    this.nextId = 1;
  }

  /** Sends calls [{method, params}] as one batch POST; returns [{result}|{error}] in order. */
  async batch(calls) {
    if (calls.length === 0) return [];
    if (calls.length > MAX_BATCH) {
      const parts = [];
      for (let i = 0; i < calls.length; i += MAX_BATCH) parts.push(this.batch(calls.slice(i, i + MAX_BATCH)));
      return (await Promise.all(parts)).flat();
    }
    const first = this.nextId;
    this.nextId += calls.length;
    const body = calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params || [] }));
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.timeoutMs);
    let reply;
    this.roundTrips += 1;
    try {
      const resp = await fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: ctrl.signal,
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
      if (!resp.ok) throw new RpcError("http", `HTTP ${resp.status}`, resp.status);
      reply = await resp.json();
    } catch (err) {
      if (err instanceof RpcError) throw err;
      if (err && err.name === "AbortError") throw new RpcError("timeout", `no answer in ${this.timeoutMs} ms`);
      throw new RpcError("network", String((err && err.message) || err));
    } finally {
      clearTimeout(timer);
    }
    if (!Array.isArray(reply)) {
      // some servers answer a batch with one error object (batches not supported)
      const msg = reply && reply.error ? reply.error.message : "not a batch answer";
      throw new RpcError("rpc", msg, reply && reply.error ? reply.error.code : null);
    }
    const byId = new Map(reply.map((r) => [r.id, r]));
    return body.map((c) => byId.get(c.id) || { error: { code: -32603, message: "missing answer" } });
  }
}

/** The span a provider's refusal suggests, or null. */
export function suggestedSpan(error) {
  const msg = String((error && error.message) || "");
  const range = msg.match(/\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i);
  if (range) {
    const span = Number(BigInt(range[2]) - BigInt(range[1])) + 1;
    if (span > 0) return span;
  }
  const blocks = msg.match(/(\d[\d,]*)\s*(?:k\b|K\b)?\s*-?\s*blocks?\b/) || msg.match(/block range[^\d]{0,40}(\d[\d,]*)/i);
  if (blocks) {
    let n = Number(blocks[1].replace(/,/g, ""));
    if (/\d\s*k/i.test(blocks[0])) n *= 1000;
    if (n > 0) return n;
  }
  return null;
}

const LIMIT_RE = /range|limit|too (many|large|big|wide)|exceed|more than|max|timeout|timed out|response size/i;

/** Whether an eth_getLogs error is a provider limit (worth retrying in smaller ranges). */
export const isLimitError = (error) => !!error && (error.code === -32005 || LIMIT_RE.test(String(error.message || "")));

export const MAX_RANGES = 5000; // beyond this many ranges for one page view, give up

const refused = (error) => new RpcError("rpc", (error && error.message) || "eth_getLogs failed", error && error.code);

export class LogReader {
  /** @param {Rpc} rpc @param {string} address @param {number} fromBlock */
  constructor(rpc, address, fromBlock) {
    this.rpc = rpc;
    this.address = address;
    this.fromBlock = fromBlock;
    this.span = null; // null: the provider has not refused a range yet
  }

  call(topics, from = this.fromBlock, to = "latest") {
    return {
      method: "eth_getLogs",
      params: [{ address: this.address, fromBlock: hex(from), toBlock: typeof to === "number" ? hex(to) : to, topics }],
    };
  }

  /**
   * Completes log queries whose whole-range answers are `answers` (null for a query not asked
   * yet); refused ones are fetched in chunks. Returns arrays of raw logs, one per query.
   */
  async complete(topicsList, answers, latest) {
    const out = [];
    const pending = [];
    topicsList.forEach((topics, i) => {
      const a = answers[i];
      if (a && Array.isArray(a.result)) out[i] = a.result;
      else {
        if (a && a.error) {
          if (!isLimitError(a.error)) throw refused(a.error);
          this.learn(a.error, latest - this.fromBlock + 1);
        }
        pending.push(i);
      }
    });
    if (pending.length) {
      const chunked = await this.chunked(pending.map((i) => topicsList[i]), latest);
      pending.forEach((i, k) => { out[i] = chunked[k]; });
    }
    return out;
  }

  /** Whole-range queries in one round trip, falling back to chunks when refused. */
  async fetch(topicsList, latest) {
    if (this.span !== null) return this.chunked(topicsList, latest);
    const answers = await this.rpc.batch(topicsList.map((t) => this.call(t)));
    return this.complete(topicsList, answers, latest);
  }

  learn(error, tried) {
    const hint = suggestedSpan(error);
    const next = hint && hint < tried ? hint : Math.max(1, Math.floor(tried / 2));
    this.span = this.span === null ? next : Math.min(this.span, next);
  }

  async chunked(topicsList, latest) {
    const results = topicsList.map(() => []);
    let queue = [];
    topicsList.forEach((topics, q) => {
      for (let a = this.fromBlock; a <= latest; a += this.span) queue.push({ q, a, b: Math.min(latest, a + this.span - 1) });
    });
    let asked = queue.length;
    if (asked > MAX_RANGES) throw new RpcError("rpc", `eth_getLogs needs more than ${MAX_RANGES} ranges`);
    while (queue.length) {
      const answers = await this.rpc.batch(queue.map((r) => this.call(topicsList[r.q], r.a, r.b)));
      const again = [];
      answers.forEach((ans, k) => {
        const r = queue[k];
        if (Array.isArray(ans.result)) {
          results[r.q].push(...ans.result);
          return;
        }
        const size = r.b - r.a + 1;
        if (size <= 1 || !isLimitError(ans.error)) throw refused(ans.error);
        this.learn(ans.error, size);
        for (let a = r.a; a <= r.b; a += this.span) again.push({ q: r.q, a, b: Math.min(r.b, a + this.span - 1) });
      });
      asked += again.length;
      if (asked > MAX_RANGES) throw new RpcError("rpc", `eth_getLogs needs more than ${MAX_RANGES} ranges`);
      queue = again;
    }
    const order = (x) => Number(BigInt(x.blockNumber)) * 1e6 + Number(BigInt(x.logIndex));
    return results.map((logs) => logs.sort((x, y) => order(x) - order(y)));
  }
}

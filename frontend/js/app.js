// The scan page: which batch the link names, what the chain says about it, in the reader's language.
//
// JSON-RPC round trips for a batch (each one batch POST):
//   1. eth_chainId, eth_blockNumber, eth_getLogs(topic1 = batch id) — the batch's whole story,
//      eth_getLogs(OrganisationAdmitted) — names of every organisation,
//      eth_getLogs(BatchStatusChanged) — every status change (recalls are rare), so a recalled
//      ingredient is known as soon as its id is. → first content is rendered here.
//   2. eth_getLogs(BatchCommissioned, topic1 = [parent ids]) — the ingredient lots;
//   3. the same for the grandparents, when there are any (and so on, one trip per generation).

import { decodeLog, TOPIC } from "./abi.js";
import { fill } from "./dom.js";
import { I18n, LANGS, loadCatalogue, pickLanguage, rememberLanguage } from "./i18n.js";
import { LinkError, parseLocation } from "./link.js";
import { ancestryViews, stateView, storyView } from "./render.js";
import { LogReader, Rpc, RpcError } from "./rpc.js";
import { sha256Hex } from "./sha256.js";
import { buildStory, organisations, recallIndex } from "./story.js";

const root = document.documentElement;
const app = document.getElementById("app");
const MAX_GENERATIONS = 8;

let i18n = null;
let view = { kind: "loading", info: {} }; // or {story, ctx}
let configPromise = null;
let loadSeq = 0;

const fetchJson = (url, optional = false) => fetch(url).then((r) => {
  if (r.ok) return r.json();
  if (optional && r.status === 404) return {};
  throw new Error(`${url}: HTTP ${r.status}`);
});

let productsPromise = null;

/** The chain config; round trip 1 waits for it alone (product names only matter to render). */
function loadConfig() {
  if (!configPromise) {
    configPromise = fetchJson("/config/chain.json").then(checkConfig);
    configPromise.catch(() => { configPromise = null; });
  }
  return configPromise;
}

function loadProducts() {
  if (!productsPromise) productsPromise = fetchJson("/config/products.json", true).catch(() => ({}));
  return productsPromise;
}

function checkConfig(c) {
  const ok = c && Number.isInteger(c.chainId) && /^0x[0-9a-fA-F]{40}$/.test(c.address || "")
    && Number.isInteger(c.deployBlock) && typeof c.rpcUrl === "string" && /^https?:\/\//.test(c.rpcUrl);
  if (!ok) throw new Error("config/chain.json: expected chainId, address, deployBlock and an http(s) rpcUrl");
  return { ...c, address: c.address.toLowerCase() };
}

// ---------------------------------------------------------------- rendering

function render() {
  if (!i18n) return;
  if (view.story) {
    fill(app, storyView(i18n, view.story, view.ctx));
    const c = view.story.commission;
    document.title = `${i18n.t("title.batch", { lot: c.lot })} · milktrace`;
  } else {
    fill(app, stateView(i18n, view.kind, view.info));
    document.title = `${i18n.t("title.page")} · milktrace`;
  }
}

/** Re-renders the parts that ancestry changes (status banners, parents), keeping the rest. */
function refreshAncestry() {
  if (!view.story) return;
  const fresh = ancestryViews(i18n, view.story, view.ctx);
  for (const id of ["status", "parents"]) {
    const old = document.getElementById(id);
    const next = fresh.find((n) => n.id === id);
    if (old && next) old.replaceWith(next);
  }
}

function setState(kind, info = {}) {
  view = { kind, info };
  root.dataset.state = kind;
  render();
}

function chrome() {
  root.lang = i18n.lang;
  document.getElementById("brand-tagline").textContent = i18n.t("brand.tagline");
  document.getElementById("langs").setAttribute("aria-label", i18n.t("lang.label"));
  document.getElementById("footer-text").textContent = i18n.t("footer.text");
  document.getElementById("skip").textContent = i18n.t("skip");
  for (const b of document.querySelectorAll("#langs button")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === i18n.lang));
  }
}

async function setLanguage(lang, remember = false) {
  const cat = await loadCatalogue(lang);
  i18n = new I18n(lang, cat);
  if (remember) rememberLanguage(lang);
  chrome();
  render();
}

// ---------------------------------------------------------------- loading a batch

function goTo(gtin, lot) {
  location.hash = `#/01/${encodeURIComponent(gtin)}/10/${encodeURIComponent(lot)}`;
}

function failure(err, retry) {
  if (err instanceof RpcError && err.kind !== "rpc") {
    setState("unreachable", { retry, detail: err.message });
  } else {
    setState("error", { retry, detail: String((err && err.message) || err) });
  }
}

async function load() {
  const seq = ++loadSeq;
  const retry = () => load();
  delete root.dataset.ancestry;
  let link;
  try {
    link = parseLocation(location);
  } catch (err) {
    if (err instanceof LinkError) return setState("malformed", { reason: err.reason, vars: err.vars, lookup: goTo });
    throw err;
  }
  if (!link) return setState("landing", { lookup: goTo });
  setState("loading");

  const productsLoading = loadProducts();
  let config;
  try {
    config = await loadConfig();
  } catch (err) {
    return setState("error", { retry, detail: String(err.message || err) });
  }
  const rpc = new Rpc(config.rpcUrl);
  const reader = new LogReader(rpc, config.address, config.deployBlock);
  const queries = [[null, link.id], [TOPIC.OrganisationAdmitted], [TOPIC.BatchStatusChanged]];
  let story, ctx;
  try {
    const first = await rpc.batch([
      { method: "eth_chainId" }, { method: "eth_blockNumber" }, ...queries.map((q) => reader.call(q)),
    ]);
    if (seq !== loadSeq) return;
    if (first[0].error || first[1].error) throw new RpcError("rpc", (first[0].error || first[1].error).message);
    const chainId = Number(BigInt(first[0].result));
    if (chainId !== config.chainId) return setState("wrongchain", { expected: config.chainId, actual: chainId, retry });
    const latest = Number(BigInt(first[1].result));
    const [batchLogs, orgLogs, statusLogs] = await reader.complete(queries, first.slice(2), latest);
    if (seq !== loadSeq) return;
    story = buildStory(link, batchLogs.map(decodeLog));
    if (!story.commission) return setState("unknown", { link, lookup: goTo });
    const products = await productsLoading;
    if (seq !== loadSeq) return;
    ctx = {
      config, products, latest, reader,
      orgs: organisations(orgLogs.map(decodeLog)),
      recalls: recallIndex(statusLogs.map(decodeLog)),
      checkReport: (file) => checkReport(story, file),
    };
  } catch (err) {
    if (seq === loadSeq) failure(err, retry);
    return;
  }
  view = { story, ctx };
  root.dataset.state = "ready";
  render();
  performance.mark("milktrace:content");
  root.dataset.roundTrips = root.dataset.contentRoundTrips = String(rpc.roundTrips);

  try {
    await loadAncestry(story, reader, ctx.latest, () => seq === loadSeq);
  } catch (err) {
    story.ancestryError = String(err.message || err);
  }
  if (seq !== loadSeq) return;
  story.ancestryDone = true;
  refreshAncestry();
  root.dataset.roundTrips = String(rpc.roundTrips);
  root.dataset.ancestry = story.ancestryError ? "error" : "done";
  performance.mark("milktrace:complete");
}

/** Fetches the commissioning of parents, then grandparents, ... one round trip per generation. */
async function loadAncestry(story, reader, latest, current) {
  let level = story.parents;
  const seen = new Set([story.link.id]);
  for (let gen = 0; level.length && gen < MAX_GENERATIONS; gen++) {
    const ids = [...new Set(level.map((n) => n.id))].filter((id) => !seen.has(id));
    ids.forEach((id) => seen.add(id));
    if (!ids.length) break;
    const [logs] = await reader.fetch([[TOPIC.BatchCommissioned, ids]], latest);
    if (!current()) return;
    const byId = new Map();
    for (const c of logs.map(decodeLog)) if (c && c.event === "BatchCommissioned" && !byId.has(c.batchId)) byId.set(c.batchId, c);
    const next = [];
    for (const node of level) {
      node.commission = byId.get(node.id) || null;
      node.parents = node.commission ? node.commission.parents.map((id) => ({ id, commission: null, parents: [] })) : [];
      next.push(...node.parents);
    }
    refreshAncestry();
    level = next;
  }
}

async function checkReport(story, file) {
  const hash = (await sha256Hex(await file.arrayBuffer())).toLowerCase();
  const match = story.quality.find((q) => q.reportHash.toLowerCase() === hash) || null;
  return { hash, match };
}

// ---------------------------------------------------------------- start

async function start() {
  for (const b of document.querySelectorAll("#langs button")) {
    b.addEventListener("click", () => setLanguage(b.dataset.lang, true));
  }
  // a file dropped outside the drop zone must not navigate away from the page
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  window.addEventListener("hashchange", () => {
    if (location.hash === "" || location.hash.startsWith("#/")) load();
  });
  document.getElementById("skip").addEventListener("click", (e) => {
    e.preventDefault();
    app.focus();
  });
  const lang = pickLanguage();
  // the catalogue, the config and round trip 1 all start at once; render() waits for the catalogue
  await Promise.all([setLanguage(LANGS.includes(lang) ? lang : "en"), load()]);
}

start().catch((err) => {
  root.dataset.state = "error";
  app.textContent = String((err && err.message) || err);
});

// Views. Every string comes from the catalogue (i18n.t); every on-chain value is a text node.

import { el, fill, link, shortHex } from "./dom.js";
import { recalledAncestors, todayYmd } from "./story.js";

const EXPLORER_RE = /^https?:\/\/[^\s"'<>]+$/i;

function explorer(config, kind, value) {
  const base = config && typeof config.explorer === "string" && EXPLORER_RE.test(config.explorer) ? config.explorer.replace(/\/+$/, "") : null;
  return base ? `${base}/${kind}/${value}` : null;
}

function orgName(i18n, orgs, account) {
  const o = account ? orgs.get(account) : null;
  return o ? o.name : i18n.t("org.unknown", { account: shortHex(account || "") });
}

/** "Name (Country)" as nodes: the on-chain name is its own text node. */
function orgLine(i18n, orgs, account) {
  const o = account ? orgs.get(account) : null;
  return el("span", { class: "org" },
    el("bdi", { class: "org-name" }, orgName(i18n, orgs, account)),
    o && o.country ? el("span", { class: "org-where" }, " · ", i18n.country(o.country)) : null);
}

function fact(label, ...value) {
  return [el("dt", {}, label), el("dd", {}, ...value)];
}

function section(id, title, ...children) {
  return el("section", { id, class: "card", "aria-labelledby": `${id}-title` },
    el("h2", { id: `${id}-title` }, title), ...children);
}

export function microToNumber(value) {
  return Number(value) / 1e6;
}

export function formatTemp(i18n, centi) {
  return i18n.t("temp.celsius", { value: i18n.number(centi / 100, 2) });
}

function ymdToYymmdd(ymd) {
  return String(ymd).slice(2);
}

// ---------------------------------------------------------------- banners

function banners(i18n, story, ctx) {
  const out = [];
  const c = story.commission;
  if (story.status === "Recalled") {
    const r = story.statusRecord;
    out.push(el("div", { class: "banner banner-recalled", role: "alert", "data-kind": "recalled" },
      el("p", { class: "banner-title" }, i18n.t("banner.recalled.title")),
      el("p", {}, i18n.t("banner.recalled.advice")),
      el("dl", { class: "facts" },
        ...fact(i18n.t("banner.reason"), el("bdi", {}, i18n.code("reason", r.reason))),
        ...fact(i18n.t("banner.date"), i18n.time(r.eventTime)),
        ...fact(i18n.t("banner.by"), orgLine(i18n, ctx.orgs, r.actor)))));
  }
  for (const a of recalledAncestors(story, ctx.recalls)) {
    const pc = a.node.commission;
    const what = pc ? i18n.t("banner.ancestor.lot", { gtin: pc.gtin, lot: pc.lot }) : shortHex(a.node.id, 10, 8);
    out.push(el("div", { class: "banner banner-recalled", role: "alert", "data-kind": "ancestor-recalled" },
      el("p", { class: "banner-title" }, i18n.t("banner.ancestor.title")),
      el("p", {}, i18n.t("banner.ancestor.advice")),
      el("dl", { class: "facts" },
        ...fact(i18n.t("banner.ancestor.which"), el("bdi", {}, what)),
        ...fact(i18n.t("banner.reason"), el("bdi", {}, i18n.code("reason", a.recall.reason))),
        ...fact(i18n.t("banner.date"), i18n.time(a.recall.eventTime)))));
  }
  if (story.status === "Quarantined") {
    const r = story.statusRecord;
    out.push(el("div", { class: "banner banner-quarantined", role: "alert", "data-kind": "quarantined" },
      el("p", { class: "banner-title" }, i18n.t("banner.quarantined.title")),
      el("p", {}, i18n.t("banner.quarantined.advice")),
      el("dl", { class: "facts" },
        ...fact(i18n.t("banner.reason"), el("bdi", {}, i18n.code("reason", r.reason))),
        ...fact(i18n.t("banner.date"), i18n.time(r.eventTime)))));
  }
  if (c && c.expiryDate < todayYmd()) {
    out.push(el("div", { class: "banner banner-expired", "data-kind": "expired" },
      el("p", { class: "banner-title" }, i18n.t("banner.expired.title", { date: i18n.date(c.expiryDate) })),
      el("p", {}, i18n.t("banner.expired.advice"))));
  }
  const bad = out.some((b) => b.classList.contains("banner-recalled") || b.classList.contains("banner-quarantined"));
  if (!bad) {
    const key = story.status === "Released" ? "banner.ok.released" : "banner.ok.active";
    out.push(el("div", { class: "banner banner-ok", "data-kind": "ok" },
      el("p", { class: "banner-title" }, i18n.t(key)),
      !story.ancestryDone ? el("p", { class: "pending" }, i18n.t("banner.ok.checking"))
        : story.ancestryError ? el("p", { class: "pending" }, i18n.t("parents.error")) : null));
  }
  return el("div", { id: "status", class: "banners" }, out);
}

// ---------------------------------------------------------------- product

function productName(i18n, products, gtin) {
  const names = products && Object.hasOwn(products, gtin) ? products[gtin] : null;
  if (names && typeof names === "object") {
    for (const key of [i18n.lang, i18n.lang.split("-")[0], "en", "zh-CN", "fr"]) {
      if (Object.hasOwn(names, key) && typeof names[key] === "string") return names[key];
    }
  }
  return null;
}

function product(i18n, story, ctx) {
  const c = story.commission;
  const producer = ctx.orgs.get(c.actor);
  const name = productName(i18n, ctx.products, c.gtin);
  const facts = el("dl", { class: "facts" },
    ...fact(i18n.t("product.gtin"), el("span", { class: "mono" }, c.gtin)),
    ...fact(i18n.t("product.lot"), el("span", { class: "mono" }, c.lot)),
    ...fact(i18n.t("product.produced"), i18n.date(c.productionDate)),
    ...fact(i18n.t("product.expiry"), i18n.date(c.expiryDate)),
    ...fact(i18n.t("product.quantity"), `${i18n.number(Number(c.quantity), 0)} ${i18n.code("qty", c.unit)}`),
    ...fact(i18n.t("product.producer"), el("bdi", {}, orgName(i18n, ctx.orgs, c.actor))),
    ...fact(i18n.t("product.country"), producer ? i18n.country(producer.country) : "—"),
    ...fact(i18n.t("product.producerGln"), el("span", { class: "mono" }, producer ? producer.gln : "—")),
    ...fact(i18n.t("product.site"), el("span", { class: "mono" }, c.siteGln)));
  const linkExpiry = story.link.expiry;
  const mismatch = linkExpiry && linkExpiry !== ymdToYymmdd(c.expiryDate)
    ? el("p", { class: "note" }, i18n.t("product.expiryMismatch", { code: linkExpiry })) : null;
  return el("section", { id: "product", class: "card", "aria-labelledby": "product-title" },
    el("h1", { id: "product-title" }, name ? el("bdi", {}, name) : i18n.t("product.unnamed")),
    facts, mismatch);
}

// ---------------------------------------------------------------- custody

function custody(i18n, story, ctx) {
  const items = story.custody.map((c) => {
    if (c.kind === "commissioned") {
      return el("li", { class: "step" },
        el("p", { class: "step-title" }, i18n.t("custody.commissioned")),
        el("p", {}, orgLine(i18n, ctx.orgs, c.holder)),
        el("p", { class: "muted-strong" }, i18n.t("custody.site", { gln: story.commission.siteGln })),
        el("p", {}, el("time", {}, i18n.time(c.record.eventTime))));
    }
    const state = c.accepted ? "accepted" : c.cancelled ? "cancelled" : "pending";
    const to = ctx.orgs.get(c.to);
    return el("li", { class: `step step-${state}` },
      el("p", { class: "step-title" }, i18n.t("custody.handover")),
      el("p", {}, i18n.t("custody.from"), " ", orgLine(i18n, ctx.orgs, c.from)),
      el("p", {}, i18n.t("custody.to"), " ", orgLine(i18n, ctx.orgs, c.to)),
      to ? el("p", { class: "muted-strong" }, i18n.t("custody.gln", { gln: to.gln })) : null,
      el("p", {}, el("time", {}, i18n.time(c.record.eventTime))),
      el("p", { class: `badge badge-${state}` },
        state === "accepted" ? i18n.t("custody.accepted", { time: i18n.time(c.accepted.eventTime) })
          : state === "cancelled" ? i18n.t("custody.cancelled", { time: i18n.time(c.cancelled.eventTime) })
            : i18n.t("custody.pending")));
  });
  const holder = story.holder ? el("p", { class: "holder" }, i18n.t("custody.holder"), " ", orgLine(i18n, ctx.orgs, story.holder)) : null;
  return section("custody", i18n.t("custody.title"), el("ol", { class: "timeline" }, items), holder);
}

// ---------------------------------------------------------------- quality

function quality(i18n, story, ctx) {
  const list = story.quality.length
    ? el("ul", { class: "results" }, story.quality.map((q) => el("li", { class: `result ${q.passed ? "pass" : "fail"}` },
      el("p", { class: "result-head" },
        el("bdi", { class: "result-test" }, i18n.code("test", q.testCode)),
        el("span", { class: `verdict verdict-${q.passed ? "pass" : "fail"}` }, i18n.t(q.passed ? "quality.pass" : "quality.fail"))),
      el("p", { class: "result-value" },
        i18n.number(microToNumber(q.value), 6), " ", el("bdi", {}, i18n.code("unit", q.unit))),
      el("p", {}, i18n.t("quality.lab"), " ", orgLine(i18n, ctx.orgs, q.actor)),
      el("p", {}, el("time", {}, i18n.time(q.eventTime))))))
    : el("p", {}, i18n.t("quality.none"));
  const check = story.quality.length ? reportCheck(i18n, story, ctx) : null;
  return section("quality", i18n.t("quality.title"), list, check);
}

function reportCheck(i18n, story, ctx) {
  const result = el("p", { id: "report-result", class: "report-result", role: "status", "aria-live": "polite" });
  const input = el("input", { type: "file", id: "report-file", class: "file-input", accept: ".pdf,application/pdf,*/*" });
  const drop = el("label", { for: "report-file", class: "drop" },
    el("span", { class: "drop-text" }, i18n.t("report.choose")), input);
  const handle = (file) => {
    if (!file) return;
    fill(result, i18n.t("report.hashing", { name: file.name }));
    result.className = "report-result";
    ctx.checkReport(file).then(({ hash, match }) => {
      result.className = `report-result ${match ? "report-match" : "report-nomatch"}`;
      if (match) {
        fill(result, i18n.t("report.match", {
          test: i18n.code("test", match.testCode), lab: orgName(i18n, ctx.orgs, match.actor), date: i18n.time(match.eventTime),
        }));
      } else {
        fill(result, i18n.t("report.nomatch"), el("br"), el("span", { class: "mono small" }, i18n.t("report.hash", { hash })));
      }
      result.dataset.result = match ? "match" : "nomatch";
    }, () => {
      result.className = "report-result report-nomatch";
      fill(result, i18n.t("report.error"));
    });
  };
  input.addEventListener("change", () => handle(input.files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    handle(e.dataTransfer && e.dataTransfer.files[0]);
  });
  return el("div", { id: "report-check", class: "report-check" },
    el("h3", {}, i18n.t("report.title")),
    el("p", {}, i18n.t("report.explain")),
    drop, result);
}

// ---------------------------------------------------------------- cold chain

function coldChain(i18n, story, ctx) {
  const cc = story.coldChain;
  if (!cc) return section("cold-chain", i18n.t("cold.title"), el("p", {}, i18n.t("cold.none")));
  const summary = el("dl", { class: "facts cold-summary" },
    ...fact(i18n.t("cold.min"), formatTemp(i18n, cc.min)),
    ...fact(i18n.t("cold.max"), formatTemp(i18n, cc.max)),
    ...fact(i18n.t("cold.readings"), i18n.number(cc.readings, 0)),
    ...fact(i18n.t("cold.alarms"), cc.alarms.length ? el("strong", { class: "alarm" }, i18n.t("cold.alarmCount", { n: cc.alarms.length })) : i18n.t("cold.noAlarm")));
  const rows = el("ul", { class: "cold-list" }, cc.records.map((r) => el("li", { class: r.alarm ? "alarm-row" : "" },
    el("span", {}, orgLine(i18n, ctx.orgs, r.actor)), " — ",
    i18n.t("cold.range", { min: formatTemp(i18n, r.minValue), max: formatTemp(i18n, r.maxValue), n: i18n.number(r.count, 0) }),
    r.alarm ? el("strong", { class: "alarm" }, " ", i18n.t("cold.excursion")) : null,
    " · ", el("time", {}, i18n.time(r.eventTime)))));
  return section("cold-chain", i18n.t("cold.title"), summary, el("details", {}, el("summary", {}, i18n.t("cold.details", { n: cc.records.length })), rows));
}

// ---------------------------------------------------------------- parents

function parentItem(i18n, node, ctx) {
  const c = node.commission;
  const recall = ctx.recalls.get(node.id);
  const name = c ? productName(i18n, ctx.products, c.gtin) : null;
  const body = c
    ? [el("p", { class: "parent-title" }, name ? el("bdi", {}, name) : null, name ? " — " : null,
      el("span", { class: "mono" }, i18n.t("parents.lot", { gtin: c.gtin, lot: c.lot }))),
    el("p", {}, i18n.t("parents.producedBy"), " ", orgLine(i18n, ctx.orgs, c.actor)),
    el("p", {}, i18n.t("parents.produced", { date: i18n.date(c.productionDate), gln: c.siteGln }))]
    : [el("p", { class: "mono" }, shortHex(node.id, 10, 8)), el("p", { class: "pending" }, i18n.t(!ctx.ancestryDone ? "parents.loading" : ctx.ancestryError ? "parents.error" : "parents.unknown"))];
  return el("li", { class: recall ? "parent recalled" : "parent" },
    ...body,
    recall ? el("p", { class: "badge badge-recalled" }, i18n.t("parents.recalled", { reason: i18n.code("reason", recall.reason), date: i18n.time(recall.eventTime) })) : null,
    node.parents.length ? el("ul", { class: "parents nested" }, node.parents.map((p) => parentItem(i18n, p, ctx))) : null);
}

function parents(i18n, story, ctx) {
  if (!story.parents.length) return section("parents", i18n.t("parents.title"), el("p", {}, i18n.t("parents.none")));
  return section("parents", i18n.t("parents.title"),
    el("p", {}, i18n.t("parents.explain")),
    el("ul", { class: "parents" }, story.parents.map((p) => parentItem(i18n, p, { ...ctx, ancestryDone: story.ancestryDone, ancestryError: story.ancestryError }))),
    !story.ancestryDone ? el("p", { class: "pending" }, i18n.t("parents.checking"))
      : story.ancestryError ? el("p", { class: "pending" }, i18n.t("parents.error")) : null);
}

// ---------------------------------------------------------------- proof

const EVENT_KEYS = {
  BatchCommissioned: "proof.ev.commissioned", BatchDerived: "proof.ev.derived", CustodyHandedOver: "proof.ev.handover",
  CustodyAccepted: "proof.ev.accepted", CustodyHandOverCancelled: "proof.ev.cancelled", QualityRecorded: "proof.ev.quality",
  ConditionRecorded: "proof.ev.condition", BatchStatusChanged: "proof.ev.status", EventAnchored: "proof.ev.anchored",
};

export function chainName(i18n, chainId) {
  const key = `chain.${chainId}`;
  return i18n.has(key) ? i18n.t(key) : i18n.t("chain.other", { id: chainId });
}

function proof(i18n, story, ctx) {
  const cfg = ctx.config;
  const addr = explorer(cfg, "address", cfg.address);
  const rows = story.records.map((r) => {
    const txUrl = explorer(cfg, "tx", r.tx);
    const blockUrl = explorer(cfg, "block", r.block);
    return el("li", { class: "proof-row" },
      el("p", { class: "proof-kind" }, i18n.t(EVENT_KEYS[r.event] || r.event), r.eventTime ? el("span", { class: "muted-strong" }, " · ", i18n.time(r.eventTime)) : null),
      el("p", { class: "mono small" }, i18n.t("proof.block"), " ", link(blockUrl, String(r.block)), " · ", i18n.t("proof.tx"), " ", link(txUrl, shortHex(r.tx, 10, 8), { title: r.tx })),
      el("p", { class: "mono small" }, i18n.t("proof.eventId"), " ", el("span", { title: r.eventId }, shortHex(r.eventId, 10, 8))));
  });
  return section("proof", i18n.t("proof.title"),
    el("p", {}, i18n.t("proof.explain")),
    el("dl", { class: "facts" },
      ...fact(i18n.t("proof.chain"), `${chainName(i18n, cfg.chainId)} (${cfg.chainId})`),
      ...fact(i18n.t("proof.contract"), link(addr, cfg.address, { class: "mono small" })),
      ...fact(i18n.t("proof.batchId"), el("span", { class: "mono small wrap" }, story.link.id)),
      ...fact(i18n.t("proof.readAt"), i18n.t("proof.readAtBlock", { block: ctx.latest }))),
    el("details", { id: "proof-records" }, el("summary", {}, i18n.t("proof.records", { n: story.records.length })),
      el("ol", { class: "proof-list" }, rows)));
}

// ---------------------------------------------------------------- pages

/** Only the parts the ancestry changes: the status banners and the parents section. */
export function ancestryViews(i18n, story, ctx) {
  return [banners(i18n, story, ctx), parents(i18n, story, ctx)];
}

export function storyView(i18n, story, ctx) {
  return [
    banners(i18n, story, ctx),
    product(i18n, story, ctx),
    custody(i18n, story, ctx),
    quality(i18n, story, ctx),
    coldChain(i18n, story, ctx),
    parents(i18n, story, ctx),
    proof(i18n, story, ctx),
  ];
}

function lookupForm(i18n, onSubmit) {
  const gtin = el("input", { id: "lookup-gtin", name: "gtin", inputmode: "numeric", autocomplete: "off", pattern: "[0-9]{8,14}", required: true });
  const lot = el("input", { id: "lookup-lot", name: "lot", autocomplete: "off", required: true, pattern: "[A-Za-z0-9._\\-]{1,20}" });
  const form = el("form", { class: "lookup", id: "lookup" },
    el("h2", {}, i18n.t("lookup.title")),
    el("label", { for: "lookup-gtin" }, i18n.t("lookup.gtin")), gtin,
    el("label", { for: "lookup-lot" }, i18n.t("lookup.lot")), lot,
    el("button", { type: "submit", class: "button" }, i18n.t("lookup.go")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    onSubmit(gtin.value.trim(), lot.value.trim());
  });
  return form;
}

/** A full-page state: kind is one of landing, malformed, unknown, unreachable, wrongchain, error. */
export function stateView(i18n, kind, info = {}) {
  const parts = [];
  const cls = `card state state-${kind}`;
  if (kind === "loading") {
    return [el("section", { class: cls, "aria-busy": "true" }, el("div", { class: "spinner", "aria-hidden": "true" }), el("p", { class: "state-title" }, i18n.t("state.loading")))];
  }
  parts.push(el("h1", { class: "state-title" }, i18n.t(`state.${kind}.title`)));
  if (kind === "malformed") {
    parts.push(el("p", {}, i18n.t(`link.error.${info.reason}`, info.vars || {})));
    parts.push(el("p", {}, i18n.t("state.malformed.advice")));
  } else if (kind === "unknown") {
    parts.push(el("dl", { class: "facts" },
      ...fact(i18n.t("product.gtin"), el("span", { class: "mono" }, info.link.gtin)),
      ...fact(i18n.t("product.lot"), el("span", { class: "mono" }, info.link.lot))));
    parts.push(el("p", {}, i18n.t("state.unknown.advice")));
  } else if (kind === "wrongchain") {
    parts.push(el("p", {}, i18n.t("state.wrongchain.detail", {
      expected: `${chainName(i18n, info.expected)} (${info.expected})`, actual: `${chainName(i18n, info.actual)} (${info.actual})`,
    })));
    parts.push(el("p", {}, i18n.t("state.wrongchain.advice")));
  } else {
    parts.push(el("p", {}, i18n.t(`state.${kind}.advice`)));
  }
  if (info.detail) parts.push(el("p", { class: "mono small detail" }, info.detail));
  if (info.retry) parts.push(el("button", { type: "button", class: "button", id: "retry", onclick: info.retry }, i18n.t("state.retry")));
  const section = el("section", { class: cls, role: kind === "landing" ? null : "alert" }, ...parts);
  const out = [section];
  if (info.lookup) out.push(el("section", { class: "card" }, lookupForm(i18n, info.lookup)));
  return out;
}

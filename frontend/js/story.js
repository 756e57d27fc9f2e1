// From decoded logs to what the page shows: a batch's story, its status, its ancestry.

const byChainOrder = (a, b) => a.block - b.block || a.logIndex - b.logIndex;

/** organisation account → {account, orgId, gln, name, country} (the latest admission wins). */
export function organisations(decoded) {
  const map = new Map();
  for (const o of decoded.filter((x) => x && x.event === "OrganisationAdmitted").sort(byChainOrder)) {
    map.set(o.account, o);
  }
  return map;
}

/** batchId → its latest BatchStatusChanged to Recalled (recalls are final). */
export function recallIndex(statusEvents) {
  const map = new Map();
  for (const s of statusEvents.filter((x) => x && x.status === "Recalled").sort(byChainOrder)) {
    if (!map.has(s.batchId)) map.set(s.batchId, s);
  }
  return map;
}

/** The story of one batch from the logs with its id as topic 1. */
export function buildStory(link, decoded) {
  const records = decoded.filter(Boolean).sort(byChainOrder);
  const mine = records.filter((r) => r.batchId === link.id);
  const commission = mine.find((r) => r.event === "BatchCommissioned") || null;
  const statuses = mine.filter((r) => r.event === "BatchStatusChanged");
  const quality = mine.filter((r) => r.event === "QualityRecorded");
  const conditions = mine.filter((r) => r.event === "ConditionRecorded");
  const anchors = mine.filter((r) => r.event === "EventAnchored");
  const children = records.filter((r) => r.event === "BatchDerived" && r.batchId === link.id);

  // custody: commissioning, then each hand-over with its acceptance or cancellation
  const custody = [];
  if (commission) {
    custody.push({ kind: "commissioned", record: commission, holder: commission.actor });
  }
  let open = null;
  for (const r of mine) {
    if (r.event === "CustodyHandedOver") {
      open = { kind: "handover", record: r, from: r.from, to: r.to, accepted: null, cancelled: null };
      custody.push(open);
    } else if (r.event === "CustodyAccepted") {
      if (open && open.to === r.to && !open.accepted && !open.cancelled) open.accepted = r;
      else custody.push({ kind: "handover", record: r, from: r.from, to: r.to, accepted: r, cancelled: null });
      open = null;
    } else if (r.event === "CustodyHandOverCancelled") {
      if (open && open.to === r.to && !open.accepted) open.cancelled = r;
      open = null;
    }
  }
  let holder = commission ? commission.actor : null;
  for (const c of custody) if (c.kind === "handover" && c.accepted) holder = c.to;

  const current = statuses.length ? statuses[statuses.length - 1] : null;
  let coldChain = null;
  if (conditions.length) {
    coldChain = {
      min: Math.min(...conditions.map((c) => c.minValue)),
      max: Math.max(...conditions.map((c) => c.maxValue)),
      readings: conditions.reduce((n, c) => n + c.count, 0),
      alarms: conditions.filter((c) => c.alarm),
      records: conditions,
    };
  }
  return {
    link,
    commission,
    producer: commission ? commission.actor : null,
    status: current ? current.status : commission ? "Active" : "Unknown",
    statusRecord: current,
    statuses,
    custody,
    holder,
    quality,
    coldChain,
    anchors,
    children,
    records: mine.concat(children.filter((c) => !mine.includes(c))).sort(byChainOrder),
    parents: commission ? commission.parents.map((id) => ({ id, commission: null, parents: [] })) : [],
    ancestryDone: !commission || commission.parents.length === 0,
  };
}

/** Every ancestor node (parents, grandparents, ...) of a story, depth first. */
export function ancestors(story) {
  const out = [];
  const walk = (nodes, depth) => {
    for (const n of nodes) {
      out.push({ node: n, depth });
      walk(n.parents, depth + 1);
    }
  };
  walk(story.parents, 1);
  return out;
}

/** Recalled ancestors: [{node, depth, recall}] */
export function recalledAncestors(story, recalls) {
  return ancestors(story).filter(({ node }) => recalls.has(node.id)).map((a) => ({ ...a, recall: recalls.get(a.node.id) }));
}

/** Today as YYYYMMDD in the reader's time zone. */
export function todayYmd(now = new Date()) {
  return now.getFullYear() * 10000 + (now.getMonth() + 1) * 100 + now.getDate();
}

// Strings come from one catalogue per language (i18n/<lang>.json). The language is the one
// chosen on the page (remembered in localStorage), else the browser's, else English.

export const LANGS = ["zh-CN", "en", "fr"];
const STORE_KEY = "milktrace.lang";

export function pickLanguage() {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch { /* storage blocked: fall through */ }
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const low = String(tag).toLowerCase();
    if (low.startsWith("zh")) return "zh-CN";
    if (low.startsWith("fr")) return "fr";
    if (low.startsWith("en")) return "en";
  }
  return "en";
}

export function rememberLanguage(lang) {
  try { localStorage.setItem(STORE_KEY, lang); } catch { /* private mode */ }
}

const catalogues = new Map();

export async function loadCatalogue(lang) {
  if (!catalogues.has(lang)) {
    catalogues.set(lang, fetch(`/i18n/${lang}.json`, { cache: "no-cache" }).then((r) => {
      if (!r.ok) throw new Error(`i18n/${lang}.json: HTTP ${r.status}`);
      return r.json();
    }));
  }
  return catalogues.get(lang);
}

/** A translator over one catalogue, with locale-aware formatters. */
export class I18n {
  constructor(lang, catalogue) {
    this.lang = lang;
    this.cat = catalogue;
    this.dateFmt = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" });
    this.timeFmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    try { this.regions = new Intl.DisplayNames([lang], { type: "region" }); } catch { this.regions = null; }
  }

  has(key) {
    return Object.hasOwn(this.cat, key);
  }

  /** The string for `key` with {name} placeholders filled; the key itself when missing. */
  t(key, vars = {}) {
    const text = this.has(key) ? this.cat[key] : key;
    return text.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
  }

  /** A catalogue entry for an on-chain code (test, unit, reason), or the code itself. */
  code(prefix, code) {
    const key = `${prefix}.${code}`;
    return this.has(key) ? this.cat[key] : code;
  }

  /** YYYYMMDD (a GS1 date on chain) in words. */
  date(yyyymmdd) {
    const y = Math.floor(yyyymmdd / 10000), m = Math.floor(yyyymmdd / 100) % 100, d = yyyymmdd % 100;
    if (!y || m < 1 || m > 12 || d < 1 || d > 31) return String(yyyymmdd);
    return this.dateFmt.format(new Date(Date.UTC(y, m - 1, d)));
  }

  /** Unix seconds as a local date and time. */
  time(seconds) {
    return this.timeFmt.format(new Date(seconds * 1000));
  }

  country(code) {
    if (!/^[A-Z]{2}$/.test(code)) return code || "—";
    try { return (this.regions && this.regions.of(code)) || code; } catch { return code; }
  }

  number(value, digits = 2) {
    return new Intl.NumberFormat(this.lang, { maximumFractionDigits: digits }).format(value);
  }
}

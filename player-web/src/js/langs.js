// Language names: each language is named in its own script (what a villager
// recognises), with a gloss in the UI language for the clerk. The native
// names match the transcoder's table (transcode/tc_lang.c), which writes
// them as NAME= in master.m3u8; that file cites a source for each.
// Tags are BCP-47 in the shortest ISO 639 form (docs/transcode.md).

const TABLE = {
  zh: { name: '中文', zh: '普通话', en: 'Mandarin' },
  bo: { name: 'བོད་སྐད', zh: '藏语', en: 'Tibetan' },
  lis: { name: 'ꓡꓲ-ꓢꓴ', zh: '傈僳语', en: 'Lisu' },
  cmn: { name: '普通话', zh: '普通话', en: 'Mandarin' },
  duu: { name: 'Tvrung kvt', zh: '独龙语', en: 'Dulong (Derung)' },
  wbm: { name: 'Vax', zh: '佤语', en: 'Wa' },
  prk: { name: 'Parauk', zh: '佤语（巴饶克）', en: 'Parauk Wa' },
  ii: { name: 'ꆈꌠꉙ', zh: '彝语', en: 'Yi' },
  tdd: { name: 'ᥖᥭᥰ ᥖᥬᥲ ᥑᥨᥒᥰ', zh: '德宏傣语', en: 'Tai Nüa' },
  khb: { name: 'ᦅᧄᦺᦑᦟᦹᧉ', zh: '西双版纳傣语', en: 'Tai Lü' },
  kac: { name: 'Jinghpaw', zh: '景颇语', en: 'Jingpho' },
  hni: { name: 'Haqniqdoq', zh: '哈尼语', en: 'Hani' },
  bca: { name: 'Baipngvpzix', zh: '白语', en: 'Bai' },
  za: { name: 'Vahcuengh', zh: '壮语', en: 'Zhuang' },
  hmn: { name: 'Hmoob', zh: '苗语', en: 'Hmong' },
  en: { name: 'English', zh: '英语', en: 'English' },
  // Undetermined: no own name; shown as its gloss.
  und: { name: '', zh: '未定语种', en: 'Undetermined' },
};

// Aliases a browser or an old tag may use for the same language.
const ALIAS = {
  zho: 'zh', chi: 'zh', 'zh-cn': 'zh', 'zh-hans': 'zh', 'zh-hans-cn': 'zh',
  bod: 'bo', tib: 'bo', 'bo-cn': 'bo', eng: 'en', iii: 'ii', 'ii-cn': 'ii', zha: 'za',
};

/** The canonical tag for a BCP-47 / ISO 639 tag ('zh-CN' -> 'zh'). */
export function canonLang(tag) {
  if (!tag) return '';
  const t = String(tag).toLowerCase().replace(/_/g, '-');
  if (ALIAS[t]) return ALIAS[t];
  if (TABLE[t]) return t;
  const base = t.split('-')[0];
  return ALIAS[base] || base;
}

/** The language's name in its own script. */
export function langName(tag) {
  const c = canonLang(tag);
  const e = TABLE[c];
  if (e && !e.name) return langGloss(c, 'zh');
  return (e && e.name) || tag || '';
}

/** The language's name in the UI language ('zh' or 'en'). */
export function langGloss(tag, ui) {
  const c = canonLang(tag);
  const e = TABLE[c];
  return (e && (e[ui] || e.en)) || tag || '';
}

/** Tags of the table in display order (for the language filter). */
export function knownLangs() {
  return Object.keys(TABLE).filter((t) => t !== 'und');
}

/**
 * Pick one of `available` (tags) by preference: each entry of `prefs` in
 * order (site language, browser languages ...), then Mandarin, then the
 * first available (unless anyAtAll is false). Null when none fits.
 */
export function pickLang(available, prefs, anyAtAll = true) {
  const av = (available || []).map(canonLang);
  for (const p of prefs || []) {
    const c = canonLang(p);
    const i = av.indexOf(c);
    if (c && i >= 0) return available[i];
  }
  const zh = av.indexOf('zh');
  if (zh >= 0) return available[zh];
  return anyAtAll && av.length ? available[0] : null;
}

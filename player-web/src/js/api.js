// The server's JSON API (DESIGN.md "HTTP"). Paths are relative to the page,
// so the player also works behind a path prefix on an edge proxy.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function getJSON(path, { signal, token } = {}) {
  let res;
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    res = await fetch(path, { signal, headers });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', err.message);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = (body && body.error) || {};
    throw new ApiError(res.status, e.code || String(res.status), e.message || res.statusText);
  }
  return body;
}

/** GET /api/v1/lessons?lang=&q=&category=&page= */
export function lessons({ q, lang, category, page } = {}, opts) {
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (lang) p.set('lang', lang);
  if (category) p.set('category', category);
  if (page && page > 1) p.set('page', String(page));
  const qs = p.toString();
  return getJSON(`api/v1/lessons${qs ? `?${qs}` : ''}`, opts);
}

export function lesson(id, opts) {
  return getJSON(`api/v1/lessons/${encodeURIComponent(id)}`, opts);
}

/** GET /api/v1/whoami: {role, scope, site: {code, name} | null} of a token;
 * ApiError 401 for a wrong, revoked or expired one. */
export function whoami(token, opts = {}) {
  return getJSON('api/v1/whoami', { ...opts, token });
}

export function site(code, opts) {
  return getJSON(`api/v1/sites/${encodeURIComponent(code)}`, opts);
}

/** The lesson's master playlist URL (the API gives a path). */
export function hlsUrl(item) {
  return new URL(item.hls || `/hls/${item.id}/master.m3u8`, document.baseURI).href;
}

/** The master playlist of the lesson's burned-in subtitle rung for lang
 * (docs/api.md: `burned` lists the languages; the file sits beside the
 * master as master-burn-LANG.m3u8). */
export function burnedUrl(item, lang) {
  return new URL(`master-burn-${encodeURIComponent(lang)}.m3u8`, hlsUrl(item)).href;
}

/** Audio only: no video rungs (the API's `video: false`, else no
 * resolution: an audio-only lesson lists no rungs). */
export function isAudioLesson(item) {
  if (item.video === false || item.audio_only === true) return true;
  if (Array.isArray(item.renditions)) return !item.renditions.some((r) => /^\d+p$/.test(r.name || r));
  return false;
}

/** The poster URL: the API may give a path, or a name inside the lesson. */
export function posterUrl(item) {
  if (!item.poster) return '';
  if (/^(\/|https?:)/.test(item.poster)) return new URL(item.poster, document.baseURI).href;
  return new URL(item.poster, hlsUrl(item)).href;
}

/** The small picture for lists (thumb.jpg, ~320 px wide); the poster for
 * lessons transcoded before thumbs existed. */
export function thumbUrl(item) {
  if (!item.thumb) return posterUrl(item);
  return posterUrl({ ...item, poster: item.thumb });
}

// localStorage with JSON values. Storage can be missing or full (private
// windows, old TVs): every call degrades to "not remembered", never throws.

const PREFIX = 'yl.';

export function load(key, fallback = null) {
  try {
    const v = window.localStorage.getItem(PREFIX + key);
    return v === null ? fallback : JSON.parse(v);
  } catch {
    return fallback;
  }
}

export function save(key, value) {
  try {
    if (value === null || value === undefined) window.localStorage.removeItem(PREFIX + key);
    else window.localStorage.setItem(PREFIX + key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

// The same for sessionStorage: what holds for this tab only.
export function loadSession(key, fallback = null) {
  try {
    const v = window.sessionStorage.getItem(PREFIX + key);
    return v === null ? fallback : JSON.parse(v);
  } catch {
    return fallback;
  }
}

export function saveSession(key, value) {
  try {
    if (value === null || value === undefined) window.sessionStorage.removeItem(PREFIX + key);
    else window.sessionStorage.setItem(PREFIX + key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

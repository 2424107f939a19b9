// Remote-control navigation for TV mode: arrow keys move the focus to the
// nearest focusable element in that direction, Enter activates it, Back
// (Escape, Backspace, or a TV's own back key) goes back. Nothing needs a
// pointer or hover.

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, [tabindex="0"]';

// Back keys: Escape and Backspace, plus the codes TV browsers send for their
// remote's Back button (webOS 461, Tizen 10009).
export function isBackKey(e) {
  return e.key === 'Escape' || e.key === 'Backspace' || e.key === 'GoBack' || e.key === 'BrowserBack' ||
    e.keyCode === 461 || e.keyCode === 10009;
}

function visible(el) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return false;
  const st = getComputedStyle(el);
  return st.visibility !== 'hidden' && st.display !== 'none';
}

/** Focusable elements inside `scope` (the open menu or dialog, else the page). */
export function focusables(scope) {
  return [...scope.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest('[inert], [hidden]') && visible(el));
}

const DIRS = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

/**
 * Move the focus from `from` in the direction of `key` among `cands`.
 * Scores each candidate ahead of the current one by the distance along the
 * direction plus twice the sideways offset (so a row or column wins over a
 * diagonal). Returns the element moved to, or null.
 */
export function move(key, from, cands) {
  const d = DIRS[key];
  if (!d) return null;
  const a = from.getBoundingClientRect();
  const ax = a.left + a.width / 2;
  const ay = a.top + a.height / 2;
  let best = null;
  let bestScore = Infinity;
  for (const el of cands) {
    if (el === from) continue;
    const b = el.getBoundingClientRect();
    const bx = b.left + b.width / 2;
    const by = b.top + b.height / 2;
    // Ahead: its near edge lies beyond our centre in that direction.
    let along;
    let side;
    if (d[0]) {
      along = d[0] > 0 ? b.left - (a.right - 1) : (a.left + 1) - b.right;
      if (d[0] > 0 ? bx <= ax : bx >= ax) continue;
      const overlap = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      side = overlap > 0 ? 0 : Math.abs(by - ay);
    } else {
      along = d[1] > 0 ? b.top - (a.bottom - 1) : (a.top + 1) - b.bottom;
      if (d[1] > 0 ? by <= ay : by >= ay) continue;
      const overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      side = overlap > 0 ? Math.abs(bx - ax) / 4 : Math.abs(bx - ax);
    }
    const score = Math.max(0, along) + 2 * side;
    if (score < bestScore) {
      bestScore = score;
      best = el;
    }
  }
  if (best) {
    best.focus({ preventScroll: true });
    // Near the top of the page keep the page at its top (the header and
    // filters stay in view); further down, scroll just enough.
    if (best.getBoundingClientRect().top + window.scrollY < window.innerHeight / 2) window.scrollTo(0, 0);
    else best.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
  return best;
}

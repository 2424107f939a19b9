// Entry of the legacy bundle (build.sh: esbuild, ES2015, one IIFE), loaded
// with <script nomodule> by browsers without ES modules: old Android
// WebViews of village set-top boxes. esbuild lowers the syntax (async
// functions, spread, optional catch, ??, ?.); the few library calls newer
// than those WebViews get small shims here.
if (!Object.entries) Object.entries = (o) => Object.keys(o).map((k) => [k, o[k]]);
if (!Object.values) Object.values = (o) => Object.keys(o).map((k) => o[k]);
if (!String.prototype.padStart) {
  String.prototype.padStart = function padStart(n, f) {
    let s = String(this);
    const fill = f === undefined ? ' ' : String(f);
    while (s.length < n && fill) s = fill + s;
    return s.slice(s.length - Math.max(n, String(this).length));
  };
}
if (window.NodeList && !NodeList.prototype.forEach) NodeList.prototype.forEach = Array.prototype.forEach;
if (!Element.prototype.append) {
  Element.prototype.append = function append(...nodes) {
    for (const n of nodes) this.appendChild(n instanceof Node ? n : document.createTextNode(String(n)));
  };
}
if (!Element.prototype.remove) {
  Element.prototype.remove = function remove() {
    if (this.parentNode) this.parentNode.removeChild(this);
  };
}
window.ylLegacy = true;
import('../src/js/main.js');

// Light and dark colours, and how the plugin learns which one TensorBoard shows.
//
// Canvas colours cannot follow CSS variables, so the same values live here and
// the charts are rebuilt when the theme changes.

const LIGHT = {
  name: "light",
  background: "#ffffff",
  text: "#202124",
  muted: "#5f6368",
  axis: "#5f6368",
  grid: "rgba(0, 0, 0, 0.07)",
  ticks: "rgba(0, 0, 0, 0.25)",
  // Series colours, in the order they are handed out (readable on white,
  // distinct for the common forms of colour blindness).
  palette: ["#1a73e8", "#e8710a", "#188038", "#9334e6", "#00838f", "#c5221f", "#795548", "#5f6368"],
  reduction: "#d93025",
  best: "#188038",
  threshold: "#188038",
  patience: "#d93025",
  cooldown: "rgba(0, 131, 143, 0.13)",
  cooldownEdge: "rgba(0, 131, 143, 0.45)",
  nonFinite: "#d93025",
  lrSet: "#80868b",
  minLr: "#b06000",
  ghost: "#d01884",
};

const DARK = {
  name: "dark",
  background: "#202124",
  text: "#e8eaed",
  muted: "#9aa0a6",
  axis: "#bdc1c6",
  grid: "rgba(255, 255, 255, 0.09)",
  ticks: "rgba(255, 255, 255, 0.3)",
  palette: ["#8ab4f8", "#fcad70", "#81c995", "#c58af9", "#78d9ec", "#f28b82", "#d7aefb", "#bdc1c6"],
  reduction: "#f28b82",
  best: "#81c995",
  threshold: "#81c995",
  patience: "#f28b82",
  cooldown: "rgba(120, 217, 236, 0.14)",
  cooldownEdge: "rgba(120, 217, 236, 0.5)",
  nonFinite: "#f28b82",
  lrSet: "#9aa0a6",
  minLr: "#fdd663",
  ghost: "#ff8bcb",
};

export function themeFor(dark) {
  return dark ? DARK : LIGHT;
}

/** The parent TensorBoard page, when it is same-origin and reachable. */
function parentBody() {
  try {
    if (window.parent && window.parent !== window) {
      return window.parent.document.body || null;
    }
  } catch (error) {
    // A cross-origin parent: fall back to the media query.
  }
  return null;
}

function mediaQuery() {
  return typeof window.matchMedia === "function"
    ? window.matchMedia("(prefers-color-scheme: dark)")
    : null;
}

/** Whether to draw dark: TensorBoard's own setting wins over the system's. */
export function isDark() {
  const body = parentBody();
  if (body) return body.classList.contains("dark-mode");
  const query = mediaQuery();
  return Boolean(query && query.matches);
}

/** Calls onChange(dark) whenever the answer of isDark() changes. Returns a stop function. */
export function watchTheme(onChange) {
  let last = isDark();
  const check = () => {
    const now = isDark();
    if (now !== last) {
      last = now;
      onChange(now);
    }
  };
  const stops = [];
  const query = mediaQuery();
  if (query && query.addEventListener) {
    query.addEventListener("change", check);
    stops.push(() => query.removeEventListener("change", check));
  }
  const body = parentBody();
  if (body && typeof MutationObserver === "function") {
    try {
      const observer = new MutationObserver(check);
      observer.observe(body, { attributes: true, attributeFilter: ["class"] });
      stops.push(() => observer.disconnect());
    } catch (error) {
      // Observing another document can fail in odd embeddings; the media query still works.
    }
  }
  return () => stops.forEach((stop) => stop());
}

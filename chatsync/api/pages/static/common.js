// Shared by the dashboard and the chats view: the session token, authenticated JSON requests,
// DOM building that only ever creates text nodes (no HTML strings: data from Telegram is shown
// exactly as text), the sign-in form, and formatting.

const TOKEN_KEY = "chatsync.token";

/** The API token of this browser tab (sessionStorage: gone when the tab closes). */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An error answer of the API ({"error": {"code", "message"}}), or status 0 for no answer. */
export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The path and query of a URL; the API's `next` links are absolute, we stay on this origin. */
export function sameOrigin(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

/** A JSON request to this origin with the session's bearer token; resolves to the body. */
export async function api(url, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(sameOrigin(url), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiFailure(0, "network", "the server cannot be reached");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    const message = error.message || response.statusText;
    throw new ApiFailure(response.status, error.code || "error", message);
  }
  return data;
}

/**
 * Build an element: el("li", {class: "x", dataset: {id: 7}, onclick: fn}, "text", otherNode).
 * Strings become text nodes, never markup; null/undefined/false children are skipped.
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  const skip = (child) => child === null || child === undefined || child === false;
  node.append(...children.filter((child) => !skip(child)));
  return node;
}

/**
 * The sign-in form (#signin with an input "token"), the app (#app) and the sign-out button
 * (#signout). onSignedIn() runs once a token is present (from the form or this tab's session);
 * the page validates it with its first request and calls signOut(message) when it is refused.
 */
export function signInFlow({ onSignedIn, onSignedOut }) {
  const form = document.getElementById("signin");
  const app = document.getElementById("app");
  const signOutButton = document.getElementById("signout");
  const error = document.getElementById("signin-error");

  function show(signedIn) {
    form.hidden = signedIn;
    app.hidden = !signedIn;
    signOutButton.hidden = !signedIn;
  }

  function signOut(message = "") {
    session.clear();
    show(false);
    showState("", "");
    error.textContent = message;
    onSignedOut();
    form.elements.token.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = form.elements.token.value.trim();
    if (!token) return;
    session.set(token);
    form.reset();
    error.textContent = "";
    show(true);
    onSignedIn();
  });
  signOutButton.addEventListener("click", () => signOut());

  show(Boolean(session.token));
  if (session.token) onSignedIn();
  return { signOut };
}

/**
 * The #state indicator in the top bar: kind is "ok", "busy" or "bad"; `detail` (a time, say)
 * is left out on narrow screens.
 */
export function showState(kind, text, detail = "") {
  const node = document.getElementById("state");
  node.hidden = !text;
  node.className = `state ${kind}`;
  node.replaceChildren(text, detail ? el("span", { class: "detail" }, ` · ${detail}`) : "");
}

// --- formatting ----------------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat();

export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return digits ? value.toFixed(digits) : numberFormat.format(value);
}

/** "14:05" today, "3 Mar 14:05" this year, "3 Mar 2025 14:05" before (local time). */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === now.toDateString()) return time;
  const year = date.getFullYear() === now.getFullYear() ? undefined : "numeric";
  const day = date.toLocaleDateString([], { day: "numeric", month: "short", year });
  return `${day} ${time}`;
}

/** "0:07", "12:40", "1:02:03". */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const pad = (n) => String(n).padStart(2, "0");
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return hours ? `${hours}:${pad(minutes)}:${pad(s % 60)}` : `${minutes}:${pad(s % 60)}`;
}

/** "812 B", "1.4 KB", "2.0 MB". */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} B`;
}

/** "5 s ago", "3 min ago", "2 h ago" for an ISO date or a Unix time in seconds. */
export function formatAgo(when) {
  if (when === null || when === undefined || when === "") return "never";
  const ms = typeof when === "number" ? when * 1000 : Date.parse(when);
  if (Number.isNaN(ms)) return String(when);
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

// The chats view: the reference client of the REST API and the WebSocket.
//
// Start-up, in this order, so that nothing that happens meanwhile is missed:
//   1. GET /chats/api/me/ -> {user_id, is_admin}: whose stream to open;
//   2. open the WebSocket /ws/chats/{user_id}/?token=...; from now on every deal.* and
//      message.* event of the owner arrives as a frame {type, event_id, cursor, deal_id, data};
//   3. GET /api/v1/deals/ (DRF cursor pages {next, previous, results}, newest activity first).
// REST answers and frames are merged by id, so their order does not matter (see upsertDeal and
// the `pending` frames of a deal that is still loading).
//
// Reconnecting: every frame (heartbeats too) carries a cursor. After a drop the stream reopens
// with ?cursor=<last cursor>, and the server replays what was missed, without gap or repeat.
// Close codes: 4401 bad token (sign out), 4403 another owner's stream (stop), 4400 bad cursor and
// 4410 cursor older than retention (reopen without cursor and reload over REST), anything else
// (4408 too slow, 1006 dropped, 1011 server error): reopen with the cursor after a backoff.
//
// All text from Telegram goes into the page as text nodes (el() in common.js), never as HTML.

import {
  ApiFailure, api, el, formatBytes, formatDuration, formatTime, session, showState, signInFlow,
} from "./common.js";

const DEAL_PAGE_SIZE = 50;
const SILENCE_MS = 40_000; // heartbeats come every 15 s: this long without a frame is a dead link
const NEAR_BOTTOM_PX = 120;

const state = {
  me: null, // {user_id, is_admin}
  deals: new Map(), // deal id -> deal (the REST DealOut shape; deal frames carry the same shape)
  dealsNext: null, // link to the next page of deals
  openId: null, // the deal shown in the chat pane
  messages: new Map(), // message id -> message (MessageOut) of the open deal
  olderLink: null, // link to the page of older messages of the open deal
  pending: null, // frames of the open deal that arrived while its REST detail was loading
  stream: null, // the LiveStream
};

// --- the WebSocket -------------------------------------------------------------------------------

/** The live stream of one owner's events, reopened with its last cursor after every drop. */
class LiveStream {
  constructor(userId, { onFrame, onGap, onUnauthorized, onState }) {
    this.userId = userId;
    this.handlers = { onFrame, onGap, onUnauthorized, onState };
    this.cursor = null; // the position after the last frame we applied
    this.failures = 0; // consecutive connections that ended without a single frame
    this.stopped = false;
    this.ws = null;
    this.retryTimer = null;
    this.silenceTimer = null;
  }

  open() {
    if (this.stopped) return;
    const params = new URLSearchParams({ token: session.token });
    if (this.cursor) params.set("cursor", this.cursor);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/chats/${this.userId}/?${params}`);
    this.ws = ws;
    this.handlers.onState("busy", this.cursor ? "resuming…" : "connecting…");
    ws.addEventListener("open", () => {
      this.expectFrames();
      this.handlers.onState("ok", "live");
    });
    ws.addEventListener("message", (message) => this.receive(message));
    ws.addEventListener("close", (event) => this.closed(event.code, ws));
  }

  receive(message) {
    this.expectFrames();
    const frame = JSON.parse(message.data);
    if (frame.type === "error") return; // the close that follows says what to do
    this.failures = 0;
    if (frame.type !== "heartbeat") this.handlers.onFrame(frame);
    this.cursor = frame.cursor; // only after the frame was applied
  }

  closed(code, ws) {
    if (ws !== this.ws) return; // an old socket we already gave up on
    clearTimeout(this.silenceTimer);
    if (this.stopped) return;
    if (code === 4401) {
      this.stop();
      this.handlers.onUnauthorized();
      return;
    }
    if (code === 4403) {
      this.stop();
      this.handlers.onState("bad", "this token cannot open these chats");
      return;
    }
    if (code === 4400 || code === 4410) {
      // The cursor is unusable: start from now, and reload what we show over REST.
      this.cursor = null;
      this.handlers.onGap();
    }
    this.failures += 1;
    const delay = Math.min(15_000, 500 * 2 ** (this.failures - 1)) * (0.8 + Math.random() * 0.4);
    this.handlers.onState("busy", `reconnecting in ${Math.ceil(delay / 1000)} s…`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  /** Restart the silence timer: no frame (not even a heartbeat) for SILENCE_MS = reconnect. */
  expectFrames() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.drop(), SILENCE_MS);
  }

  /** Give up on the current socket (it may hang half-open) and reconnect with the cursor. */
  drop() {
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.closed(1006, null);
  }

  /** After the browser comes back online: reconnect now instead of after the backoff. */
  retryNow() {
    if (this.stopped || !this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }
}

// --- sign in / out -------------------------------------------------------------------------------

const flow = signInFlow({ onSignedIn: start, onSignedOut: reset });

async function start() {
  reset();
  showState("busy", "signing in…");
  const token = session.token;
  try {
    const me = await api("/chats/api/me/");
    if (session.token !== token) return; // signed out (or in again) meanwhile
    state.me = me;
  } catch (error) {
    if (unauthorized(error)) flow.signOut("That token is not valid.");
    else showState("bad", error.message);
    return;
  }
  document.getElementById("whoami").textContent = state.me.is_admin
    ? `admin · live for user ${state.me.user_id}` : `user ${state.me.user_id}`;
  state.stream = new LiveStream(state.me.user_id, {
    onFrame: applyFrame,
    onGap: reloadAll,
    onUnauthorized: () => flow.signOut("The token is no longer valid."),
    onState: showState,
  });
  state.stream.open();
  await loadDeals();
  openFromHash();
}

function unauthorized(error) {
  return error instanceof ApiFailure && error.status === 401;
}

function reset() {
  if (state.stream) state.stream.stop();
  Object.assign(state, {
    me: null, deals: new Map(), dealsNext: null, stream: null,
  });
  closeDeal();
  renderDeals();
}

window.addEventListener("online", () => state.stream && state.stream.retryNow());
window.addEventListener("hashchange", openFromHash);

// --- deals ---------------------------------------------------------------------------------------

/** The list's order, as the API's: newest activity first (last message, else last update). */
function activity(deal) {
  return Date.parse(deal.last_message_at || deal.updated_at) || 0;
}

function byActivity(a, b) {
  return activity(b) - activity(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

async function loadDeals(link = `/api/v1/deals/?page_size=${DEAL_PAGE_SIZE}`) {
  const button = document.getElementById("more-deals");
  button.disabled = true;
  try {
    const page = await api(link);
    for (const deal of page.results) upsertDeal(deal);
    state.dealsNext = page.next;
    renderDeals();
  } catch (error) {
    if (unauthorized(error)) flow.signOut("That token is not valid.");
    else showState("bad", `deals: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

document.getElementById("more-deals").addEventListener("click", () => {
  if (state.dealsNext) loadDeals(state.dealsNext);
});

/**
 * Merge a deal from REST or from a frame. The newer `updated_at` wins; a frame's customer may
 * lack what PostgreSQL knows (names before the sink stored them, the avatar link), so customer
 * fields we already have are never replaced by nulls.
 */
function upsertDeal(deal) {
  const known = state.deals.get(deal.id);
  if (!known) {
    state.deals.set(deal.id, deal);
    return deal;
  }
  const newer = Date.parse(deal.updated_at) >= Date.parse(known.updated_at) ? deal : known;
  const older = newer === deal ? known : deal;
  const customer = { ...older.customer };
  for (const [key, value] of Object.entries(newer.customer)) {
    if (value !== null) customer[key] = value;
  }
  const merged = { ...newer, customer };
  state.deals.set(deal.id, merged);
  return merged;
}

function displayName(customer) {
  const name = [customer.first_name, customer.last_name].filter(Boolean).join(" ");
  return name || (customer.username ? `@${customer.username}` : customer.id);
}

function avatar(customer, node = el("div", { class: "avatar", "aria-hidden": "true" })) {
  node.replaceChildren();
  if (customer.avatar_url) node.append(el("img", { src: customer.avatar_url, alt: "" }));
  else node.append(Array.from(displayName(customer).replace(/^@/, ""))[0] || "?");
  return node;
}

function preview(message) {
  if (!message) return "no messages yet";
  if (message.is_deleted) return "deleted message";
  const body = message.text || (message.media ? mediaLabel(message.media) : "");
  return message.direction === "out" ? `You: ${body}` : body;
}

function renderDeals() {
  const list = document.getElementById("deals");
  const deals = [...state.deals.values()].sort(byActivity);
  list.replaceChildren(...deals.map((deal) => {
    const unread = deal.unread_count > 0
      ? el("span", { class: "badge" }, String(deal.unread_count)) : null;
    const open = () => { location.hash = `deal=${encodeURIComponent(deal.id)}`; };
    const active = deal.id === state.openId ? "active" : null;
    return el("li", { class: active, dataset: { dealId: deal.id } },
      el("button", { class: "deal", type: "button", onclick: open },
        avatar(deal.customer),
        el("span", { class: "deal-text" },
          el("div", { class: "deal-name", dir: "auto" }, displayName(deal.customer)),
          el("div", { class: "deal-preview", dir: "auto" }, preview(deal.last_message))),
        el("span", { class: "deal-meta" },
          formatTime(deal.last_message_at || deal.updated_at), unread)));
  }));
  if (!deals.length && state.me) list.append(el("li", { class: "placeholder" }, "No deals yet."));
  document.getElementById("more-deals").hidden = !state.dealsNext;
}

// --- the open deal -------------------------------------------------------------------------------

function openFromHash() {
  const match = /^#deal=(.+)$/.exec(location.hash);
  const id = match ? decodeURIComponent(match[1]) : null;
  if (!state.me) return;
  if (id && id !== state.openId) openDeal(id);
  if (!id && state.openId) closeDeal();
}

document.getElementById("back").addEventListener("click", () => {
  history.replaceState(null, "", location.pathname);
  closeDeal();
});

function closeDeal() {
  state.openId = null;
  state.messages = new Map();
  state.olderLink = null;
  state.pending = null;
  document.getElementById("app").classList.remove("chat-open");
  document.getElementById("chat-placeholder").hidden = false;
  document.getElementById("chat-header").hidden = true;
  document.getElementById("messages").hidden = true;
  notice(null);
  renderDeals();
}

async function openDeal(id) {
  state.openId = id;
  state.messages = new Map();
  state.olderLink = null;
  state.pending = []; // frames for this deal wait here until the REST detail is in
  document.getElementById("app").classList.add("chat-open");
  document.getElementById("chat-placeholder").hidden = true;
  document.getElementById("chat-header").hidden = false;
  const list = document.getElementById("messages");
  list.hidden = false;
  list.replaceChildren(el("li", { class: "placeholder" }, "Loading…"));
  notice(null);
  const known = state.deals.get(id);
  if (known) renderChatHeader(known);
  renderDeals();
  let detail;
  try {
    detail = await api(`/api/v1/deals/${encodeURIComponent(id)}/`);
  } catch (error) {
    if (state.openId !== id) return;
    list.replaceChildren();
    state.pending = null;
    if (error.status === 404) notice("This deal is not synced yet (or not yours). Try again soon.");
    else notice(`Could not load the deal: ${error.message}`);
    return;
  }
  if (state.openId !== id) return; // another deal was opened meanwhile
  const { messages, messages_next: older, ...deal } = detail;
  renderChatHeader(upsertDeal(deal));
  state.olderLink = older;
  for (const message of messages) state.messages.set(message.id, message);
  const pending = state.pending;
  state.pending = null;
  for (const frame of pending) applyMessageFrame(frame);
  renderMessages();
  scrollToBottom();
  renderDeals();
}

function renderChatHeader(deal) {
  avatar(deal.customer, document.getElementById("chat-avatar"));
  document.getElementById("chat-name").textContent = displayName(deal.customer);
  const parts = [];
  if (deal.customer.username) parts.push(`@${deal.customer.username}`);
  parts.push(`${deal.message_count} messages`);
  if (deal.unread_count) parts.push(`${deal.unread_count} unread`);
  document.getElementById("chat-sub").textContent = parts.join(" · ");
}

function notice(text, ok = false) {
  const node = document.getElementById("chat-notice");
  node.hidden = !text;
  node.textContent = text || "";
  node.classList.toggle("ok", ok);
}

// --- messages ------------------------------------------------------------------------------------

/** "[photo 800×600]", "[voice 0:07]", "[document invoice.pdf, 1.2 MB]", "[sticker 😀]". */
function mediaLabel(media) {
  if (media.service) return `[${media.service.replaceAll("_", " ")}]`;
  const parts = [media.type.replaceAll("_", " ")];
  if (media.emoji) parts.push(media.emoji);
  if (media.file_name) parts.push(media.file_name);
  if (media.duration !== null && media.duration !== undefined) {
    parts.push(formatDuration(media.duration));
  }
  if (media.width && media.height) parts.push(`${media.width}×${media.height}`);
  const size = media.type === "document" && media.file_size
    ? `, ${formatBytes(media.file_size)}` : "";
  return `[${parts.join(" ")}${size}]`;
}

function forwardLabel(forward) {
  const from = forward.sender_name || (forward.origin === "channel" ? "a channel" : "someone");
  return `Forwarded from ${from}`;
}

function replyLabel(messageId) {
  const original = state.messages.get(messageId);
  const quoted = original && (original.text || (original.media && mediaLabel(original.media)));
  return quoted ? `↩ ${quoted.slice(0, 80)}` : `↩ reply to message #${messageId}`;
}

/** Earlier versions (REST `edits`, oldest first; the stream adds the ones it saw replaced). */
function editsNode(message) {
  if (!message.edits.length && !message.edit_date) return null;
  if (!message.edits.length) return el("span", { class: "edited" }, "edited");
  return el("details", { class: "edits" },
    el("summary", {}, `edited${message.edits.length > 1 ? ` ×${message.edits.length}` : ""}`),
    el("ol", {}, ...message.edits.map((edit, index) => el("li", { dir: "auto" },
      el("span", { class: "muted" },
        index === 0 ? "original: " : `${formatTime(edit.edit_date)}: `),
      edit.text ?? "(no text)"))));
}

function messageNode(message) {
  const classes = ["msg", message.direction];
  if (message.is_deleted) classes.push("deleted");
  return el("li", { class: classes.join(" "), dataset: { messageId: message.id } },
    message.forward && el("div", { class: "forward" }, forwardLabel(message.forward)),
    message.reply_to_message_id
      && el("div", { class: "reply", dir: "auto" }, replyLabel(message.reply_to_message_id)),
    message.media && el("div", { class: "media" }, mediaLabel(message.media)),
    message.text && el("div", { class: "text", dir: "auto" }, message.text),
    el("div", { class: "meta" },
      message.sent_by_bot && el("span", {}, "bot"),
      editsNode(message),
      message.is_deleted && el("span", { class: "deleted-mark" }, "deleted"),
      el("time", { datetime: message.date }, formatTime(message.date))));
}

function olderButton() {
  return el("li", { class: "older" },
    el("button", { type: "button", class: "link", onclick: loadOlder }, "Load older messages"));
}

function renderMessages() {
  const list = document.getElementById("messages");
  const ordered = [...state.messages.values()].sort((a, b) => a.id - b.id);
  list.replaceChildren(...(state.olderLink ? [olderButton()] : []), ...ordered.map(messageNode));
  if (!ordered.length) list.append(el("li", { class: "placeholder" }, "No messages."));
}

/** Put one message in place (a new one, or a changed one), keeping the list's order. */
function placeMessage(message, fresh) {
  const list = document.getElementById("messages");
  const node = messageNode(message);
  if (fresh) node.classList.add("fresh");
  const existing = list.querySelector(`li[data-message-id="${message.id}"]`);
  if (existing) {
    existing.replaceWith(node);
    return;
  }
  list.querySelector(":scope > li.placeholder")?.remove();
  const after = [...list.querySelectorAll(":scope > li.msg")]
    .find((li) => Number(li.dataset.messageId) > message.id);
  list.insertBefore(node, after || null);
}

async function loadOlder(event) {
  const button = event.currentTarget;
  const id = state.openId;
  button.disabled = true;
  try {
    const page = await api(state.olderLink);
    if (state.openId !== id) return;
    for (const message of page.results) {
      if (!state.messages.has(message.id)) state.messages.set(message.id, message);
    }
    state.olderLink = page.next;
    const list = document.getElementById("messages");
    const fromBottom = list.scrollHeight - list.scrollTop; // keep what the reader sees in place
    renderMessages();
    list.scrollTop = list.scrollHeight - fromBottom;
  } catch (error) {
    button.disabled = false;
    notice(`Could not load older messages: ${error.message}`);
  }
}

function nearBottom() {
  const list = document.getElementById("messages");
  return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
}

function scrollToBottom() {
  const list = document.getElementById("messages");
  list.scrollTop = list.scrollHeight;
}

// --- mark read -----------------------------------------------------------------------------------

document.getElementById("mark-read").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const id = state.openId;
  const newest = Math.max(0, ...state.messages.keys());
  button.disabled = true;
  try {
    // Up to the newest message on screen; Telegram confirms it with a deal.updated (unread 0).
    await api(`/api/v1/deals/${encodeURIComponent(id)}/read/`, {
      method: "POST", body: newest ? { message_id: newest } : {},
    });
    if (state.openId === id) notice("Read mark requested.", true);
  } catch (error) {
    if (state.openId === id) notice(`Could not mark read: ${error.message}`);
  } finally {
    button.disabled = false;
  }
});

// --- frames --------------------------------------------------------------------------------------

function applyFrame(frame) {
  if (frame.type.startsWith("deal.")) {
    const deal = upsertDeal(frame.data);
    if (deal.id === state.openId) renderChatHeader(deal);
    renderDeals();
  } else if (frame.type.startsWith("message.") && frame.deal_id === state.openId) {
    if (state.pending) state.pending.push(frame);
    else applyMessageFrame(frame, true);
  }
}

/**
 * A message frame of the open deal. Frames carry no edit history (`edits` is empty), so the
 * history grows here: an edit that changes the text keeps the version it replaces.
 */
function applyMessageFrame(frame, live = false) {
  const message = { ...frame.data };
  const known = state.messages.get(message.id);
  if (!known && state.olderLink && message.id < Math.min(...state.messages.keys())) {
    return; // a change to a message on an older page: that page brings it when it is loaded
  }
  message.edits = known ? known.edits : [];
  if (known && frame.type === "message.edited" && known.text !== message.text) {
    message.edits = [...known.edits, {
      version: null, edit_date: known.edit_date, text: known.text, entities: known.entities,
    }];
  }
  if (known && message.is_deleted && !message.text) message.text = known.text; // keep it, struck
  state.messages.set(message.id, message);
  if (!live) return; // renderMessages() follows
  const stick = nearBottom();
  placeMessage(message, !known);
  if (stick && !known) scrollToBottom();
}

/** After a cursor could not be resumed: what we show may be stale, so read it again. */
function reloadAll() {
  state.deals = new Map();
  loadDeals();
  if (state.openId) openDeal(state.openId);
}

// For the browser console: the state of the view, including the live stream.
window.chatsync = state;

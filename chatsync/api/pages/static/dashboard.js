// The monitoring dashboard. Every poll interval (2 s) it reads GET /api/v1/status/ and derives:
//   - records per second in (raw topics) and out (normalised topics) from two successive
//     samples of the topics' record counts,
//   - everything else as the status says it (producers, consumer lag, DLQ size, counts).
// The latest dead letters and events come from the dashboard's own endpoints, and are read
// again only when the status shows that their topics grew (they are Kafka reads).

import {
  ApiFailure, api, el, formatAgo, formatNumber, formatTime, showState, signInFlow,
} from "./common.js";

const HISTORY = 60; // samples kept for the sparklines (2 minutes at 2 s)
const TAIL_LIMIT = 20;

let config = null; // {topics: {raw, normalised, dlq, commands}, poll_interval_ms}
let timer = null;
let running = false;
let previous = null; // {at, records: {topic: count}}
const history = { in: [], out: [] };
const seen = { dlq: null, events: null }; // record counts the tails were last read at

const flow = signInFlow({ onSignedIn: start, onSignedOut: stop });

// --- the poll loop -------------------------------------------------------------------------------

async function start() {
  stop();
  running = true;
  showState("busy", "connecting…");
  try {
    config = await api("/dashboard/api/config/");
  } catch (error) {
    if (!refused(error)) {
      showState("bad", error.message);
      timer = setTimeout(start, 5000);
    }
    return;
  }
  await poll();
}

function stop() {
  running = false;
  clearTimeout(timer);
  previous = null;
  history.in.length = 0;
  history.out.length = 0;
  seen.dlq = seen.events = null;
}

async function poll() {
  if (!running) return;
  try {
    const status = await api("/api/v1/status/");
    if (!running) return;
    render(status, performance.now());
    await refreshTails(status);
    if (status.broker.reachable) showState("ok", "live", new Date().toLocaleTimeString());
    else showState("bad", "Kafka unreachable");
  } catch (error) {
    if (refused(error)) return;
    showState("bad", `${error.message} · retrying`);
  }
  if (running) timer = setTimeout(poll, config.poll_interval_ms);
}

/** 401: the token is gone or wrong; 403: not an admin. Both end the session of this page. */
function refused(error) {
  if (!(error instanceof ApiFailure)) return false;
  if (error.status === 401) flow.signOut("That token is not valid (any more).");
  else if (error.status === 403) flow.signOut("The dashboard needs an admin token.");
  else return false;
  return true;
}

// --- rendering the status ------------------------------------------------------------------------

function sum(status, topics) {
  return topics.reduce((total, topic) => total + ((status.topics[topic] || {}).records || 0), 0);
}

function render(status, now) {
  const records = Object.fromEntries(Object.entries(status.topics).map(([t, v]) => [t, v.records]));
  const rates = {};
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    for (const [topic, count] of Object.entries(records)) {
      // A topic that was recreated counts down: treat it as no traffic, not as negative.
      rates[topic] = Math.max(0, count - (previous.records[topic] ?? count)) / seconds;
    }
  }
  const rate = (topics) => (previous ? topics.reduce((acc, t) => acc + (rates[t] || 0), 0) : null);
  const inRate = rate(config.topics.raw);
  const outRate = rate(config.topics.normalised);
  previous = { at: now, records };
  if (inRate !== null) pushHistory(history.in, inRate);
  if (outRate !== null) pushHistory(history.out, outRate);

  setCard("card-broker", status.broker.reachable ? "up" : "down", status.broker.servers,
    !status.broker.reachable);
  setCard("card-in", formatNumber(inRate, 1),
    `${formatNumber(sum(status, config.topics.raw))} records`);
  setCard("card-out", formatNumber(outRate, 1),
    `${formatNumber(sum(status, config.topics.normalised))} events`);
  sparkline("card-in", history.in);
  sparkline("card-out", history.out);
  const dead = status.dlq.records;
  setCard("card-dlq", formatNumber(dead), config.topics.dlq, dead > 0);
  const counts = status.counts;
  setCard("card-deals", formatNumber(counts.deals),
    `${formatNumber(counts.deals_fully_synced)} fully synced`);
  setCard("card-customers", formatNumber(counts.customers), "");
  setCard("card-messages", formatNumber(counts.messages), "stored in DynamoDB");

  renderProducers(status.producers);
  renderLag(status.consumer_groups);
  renderTopics(status.topics, rates);
}

function setCard(id, value, sub, alert = false) {
  const card = document.getElementById(id);
  card.querySelector("[data-value]").textContent = value;
  card.querySelector("[data-sub]").textContent = sub ?? "";
  card.classList.toggle("alert", Boolean(alert));
}

function pushHistory(list, value) {
  list.push(value);
  if (list.length > HISTORY) list.shift();
}

/** A polyline over the last samples, scaled to the largest one (viewBox 60 × 20). */
function sparkline(id, values) {
  const line = document.querySelector(`#${id} polyline`);
  const top = Math.max(1, ...values);
  const step = 60 / (HISTORY - 1);
  const offset = (HISTORY - values.length) * step;
  const points = values.map((value, i) => {
    const x = offset + i * step;
    const y = 19 - (value / top) * 18;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  line.setAttribute("points", points.join(" "));
}

function pill(text, kind) {
  return el("span", { class: `pill ${kind}` }, text);
}

function facts(pairs) {
  const list = el("dl", { class: "facts" });
  for (const [name, value] of pairs) list.append(el("dt", {}, name), el("dd", {}, value));
  return list;
}

function renderProducers(producers) {
  const box = document.getElementById("producers");
  const webhook = producers.webhook;
  const lastUpdate = webhook.last_update_at
    ? `${formatAgo(webhook.last_update_at)} (${formatTime(webhook.last_update_at)})` : "none yet";
  const parts = [
    el("div", { class: "producer" },
      el("h3", {}, "Bot API webhook"),
      facts([
        ["Kafka", webhook.kafka_connected ? pill("connected", "ok") : pill("not connected", "bad")],
        ["last update", lastUpdate],
        ["accepted", formatNumber(webhook.accepted)],
        ["dead-lettered", formatNumber(webhook.dead_lettered)],
      ])),
  ];
  for (const bot of producers.polling) {
    parts.push(el("div", { class: "producer" },
      el("h3", {}, `Polling · ${bot.bot}`),
      facts([
        ["last update id", bot.last_update_id],
        ["written", formatAgo(bot.written_at)],
      ])));
  }
  for (const account of producers.telethon) {
    // Telethon health files are free-form: show their plain values.
    const pairs = Object.entries(account)
      .filter(([, value]) => value === null || typeof value !== "object")
      .map(([name, value]) => [name.replaceAll("_", " "), typeof value === "boolean"
        ? pill(value ? "yes" : "no", value ? "ok" : "warn") : String(value ?? "—")]);
    parts.push(el("div", { class: "producer" }, el("h3", {}, "Telethon account"), facts(pairs)));
  }
  if (!producers.polling.length && !producers.telethon.length) {
    parts.push(el("p", { class: "muted" }, "No polling bot or Telethon account reports here."));
  }
  box.replaceChildren(...parts);
}

function renderLag(groups) {
  const rows = Object.entries(groups).sort(([, a], [, b]) => b.lag - a.lag);
  const most = Math.max(1, ...rows.map(([, g]) => g.lag));
  const body = document.getElementById("lag");
  if (!rows.length) {
    const empty = el("td", { colspan: 3, class: "empty" }, "No consumer group yet.");
    body.replaceChildren(el("tr", {}, empty));
    return;
  }
  body.replaceChildren(...rows.map(([name, group]) => {
    const behind = Object.values(group.partitions).filter((lag) => lag > 0).length;
    let bar = null; // a bar as long as the lag, relative to the group furthest behind
    if (group.lag > 0) {
      bar = el("div", { class: group.lag > 1000 ? "bar bad" : "bar" });
      bar.style.width = `${Math.max(2, Math.round((group.lag / most) * 100))}%`;
    }
    return el("tr", {},
      el("td", { class: "mono" }, name, bar),
      el("td", { class: "num" }, formatNumber(group.lag)),
      el("td", { class: "num" }, `${behind}/${Object.keys(group.partitions).length}`));
  }));
}

function role(topic) {
  if (config.topics.raw.includes(topic)) return pill("in", "info");
  if (config.topics.normalised.includes(topic)) return pill("out", "ok");
  if (topic === config.topics.dlq) return pill("dlq", "bad");
  return pill("other", "");
}

function renderTopics(topics, rates) {
  document.getElementById("topics").replaceChildren(...Object.entries(topics).map(([name, topic]) =>
    el("tr", {},
      el("td", { class: "mono" }, name),
      el("td", {}, role(name)),
      el("td", { class: "num" }, formatNumber(topic.records)),
      el("td", { class: "num" }, name in rates ? formatNumber(rates[name], 1) : "—"))));
}

// --- the tails: dead letters and latest events ---------------------------------------------------

async function refreshTails(status) {
  const dlqCount = status.dlq.records;
  const eventCount = sum(status, config.topics.normalised);
  const reads = [];
  if (dlqCount !== seen.dlq) {
    reads.push(api(`/dashboard/api/dead-letters/?limit=${TAIL_LIMIT}`).then((page) => {
      renderDeadLetters(page);
      seen.dlq = dlqCount;
    }));
  }
  if (eventCount !== seen.events) {
    reads.push(api(`/dashboard/api/latest-events/?limit=${TAIL_LIMIT}`).then((page) => {
      renderEvents(page);
      seen.events = eventCount;
    }));
  }
  await Promise.all(reads);
}

function renderDeadLetters(page) {
  document.getElementById("dead-topic").textContent = page.topic;
  const list = document.getElementById("dead-letters");
  if (!page.results.length) {
    list.replaceChildren(el("li", { class: "empty" }, "No dead letters. Good."));
    return;
  }
  list.replaceChildren(...page.results.map((letter) => {
    const source = letter.source
      ? `from ${letter.source.topic}[${letter.source.partition}]@${letter.source.offset}` : null;
    return el("li", {},
      el("div", { class: "line" },
        pill(letter.stage || "unknown stage", "bad"),
        el("span", { class: "when" }, formatTime(letter.dead_lettered_at || letter.timestamp)),
        source && el("span", { class: "mono muted" }, source),
        letter.key && el("span", { class: "mono muted" }, `key ${letter.key}`)),
      el("div", { class: "summary" }, letter.error || "no error recorded"),
      letter.value_preview !== null && el("pre", {}, letter.value_preview));
  }));
}

function renderEvents(page) {
  document.getElementById("events-topics").textContent = page.topics.join(", ");
  const list = document.getElementById("events");
  if (!page.results.length) {
    list.replaceChildren(el("li", { class: "empty" }, "No events yet."));
    return;
  }
  const kinds = { message: "info", deal: "ok", customer: "warn" };
  list.replaceChildren(...page.results.map((event) => {
    const type = event.event_type || "unknown";
    return el("li", {},
      el("div", { class: "line" },
        el("span", { class: "when" }, formatTime(event.timestamp)),
        pill(type, kinds[type.split(".")[0]] || ""),
        el("span", { class: "summary", dir: "auto" }, event.summary),
        event.deal_id && el("span", { class: "mono muted" }, event.deal_id)));
  }));
}

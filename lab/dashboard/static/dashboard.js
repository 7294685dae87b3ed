// botify dashboard: fetches /api/state every few seconds and draws it. Every number is in an
// element with an id (and its exact value in data-value) so that tests and people can read it.
"use strict";

const refreshMs = Number(document.body.dataset.refreshMs) || 2000;
const followingRuns = document.body.dataset.runs === "yes";
let chosenExperiment = null; // null: the dashboard's own choice
let polls = 0;

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function idPart(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
}

function td(id, text, value, classes = "") {
  const data = value === undefined || value === null ? "" : ` data-value="${esc(value)}"`;
  return `<td id="${esc(id)}"${data} class="${classes}">${esc(text)}</td>`;
}

function header(names) {
  return "<tr>" + names.map((n, i) => `<th class="${i ? "" : "name"}">${esc(n)}</th>`).join("") + "</tr>";
}

function setText(id, text, value) {
  const element = document.getElementById(id);
  element.textContent = text;
  if (value !== undefined) element.dataset.value = value ?? "";
}

function share(value) {
  return value === null || value === undefined ? "n/a" : (value * 100).toFixed(1) + "%";
}

function renderArms(state) {
  const expected = Object.fromEntries(state.srm.arms.map((a) => [a.arm, a]));
  const rows = state.arms.map((arm) => {
    const p = `arm-${idPart(arm.arm)}`;
    const split = expected[arm.arm] || {};
    return "<tr>" + td(`${p}-name`, arm.arm, arm.arm, "name") +
      td(`${p}-users`, arm.text.users, arm.users) +
      td(`${p}-share`, share(split.share), split.share) +
      td(`${p}-expected_share`, share(split.expected_share), split.expected_share) +
      td(`${p}-sessions`, arm.text.sessions, arm.sessions) +
      td(`${p}-events`, arm.text.events, arm.events) +
      td(`${p}-incomplete_sessions`, arm.text.incomplete_sessions, arm.incomplete_sessions) +
      td(`${p}-latency_p50_ms`, arm.text.latency_p50_ms, arm.latency_p50_ms) +
      td(`${p}-latency_p99_ms`, arm.text.latency_p99_ms, arm.latency_p99_ms) + "</tr>";
  });
  document.getElementById("arms").innerHTML = header(["arm", "users", "share of users",
    "configured share", "sessions", "events", "incomplete sessions", "latency p50, ms",
    "latency p99, ms"]) + rows.join("");
  const srm = state.srm;
  const verdict = document.getElementById("srm-verdict");
  verdict.className = srm.failed ? "mismatch" : "";
  verdict.innerHTML = (srm.failed ? "SAMPLE RATIO MISMATCH: do not trust these results. " : "ok. ") +
    `chi2 = <span id="srm-chi2" data-value="${esc(srm.chi2)}">${esc(srm.text.chi2)}</span>, ` +
    `p = <span id="srm-p" data-value="${esc(srm.p)}">${esc(srm.text.p)}</span> ` +
    `(a mismatch below ${esc(srm.alpha)})`;
}

function renderEffects(state) {
  setText("control", state.control);
  const rows = state.effects.map((row) => {
    const p = `effect-${idPart(row.treatment)}-${idPart(row.metric)}`;
    const t = row.text;
    return "<tr>" + td(`${p}-arm`, row.treatment, row.treatment, "name") +
      td(`${p}-metric`, `${row.metric} (${row.good_direction} is better)`, row.metric, "name") +
      td(`${p}-control_mean`, t.control_mean, row.control_mean) +
      td(`${p}-treatment_mean`, t.treatment_mean, row.treatment_mean) +
      td(`${p}-effect`, t.effect, row.effect) +
      `<td id="${p}-interval">` +
      `<span id="${p}-lower" data-value="${esc(row.lower)}"></span>` +
      `<span id="${p}-upper" data-value="${esc(row.upper)}"></span>${esc(t.interval)}</td>` +
      td(`${p}-significant`, t.significant, row.significant) +
      td(`${p}-p_holm`, t.p_holm, row.p_holm) +
      td(`${p}-significant_holm`, t.significant_holm, row.significant_holm) +
      `<td id="${p}-sequential_interval">` +
      `<span id="${p}-sequential_lower" data-value="${esc(row.sequential_lower)}"></span>` +
      `<span id="${p}-sequential_upper" data-value="${esc(row.sequential_upper)}"></span>` +
      `${esc(t.sequential_interval)}</td>` +
      td(`${p}-sequential_p`, t.sequential_p, row.sequential_p) +
      td(`${p}-decision`, row.decision, row.decision, row.decision) + "</tr>";
  });
  const level = `${+(100 * (1 - state.alpha)).toFixed(2)}%`;
  document.getElementById("effects").innerHTML = header(["arm", "metric", "control",
    "treatment", "effect %", `interval % (${level})`, "significant", "p Holm",
    "significant (Holm)", "always-valid interval %", "always-valid p", "decision"]) +
    rows.join("");
  document.getElementById("effects-chart").innerHTML = (state.charts || {}).effects || "";
}

function renderServing(state) {
  const serving = state.serving;
  setText("serving-lost", serving.lost_events.toLocaleString("en"), serving.lost_events);
  setText("serving-link-failures", serving.link_failures.toLocaleString("en"), serving.link_failures);
  const fallbacks = serving.fallback_answers;
  setText("serving-fallbacks", fallbacks === null ?
    (state.config_problem || "unknown without the config (--config)") :
    fallbacks.toLocaleString("en"), fallbacks);
  document.getElementById("serving-warnings").innerHTML = serving.warnings
    .map((w, i) => `<li id="serving-warning-${i}" class="problem">${esc(w)}</li>`).join("");
  const rows = serving.links.map((link) => {
    const p = `link-${idPart(link.arm)}-${idPart(link.link ?? "none")}`;
    return "<tr>" + td(`${p}-arm`, link.arm, link.arm, "name") +
      td(`${p}-link`, link.link ?? "(not logged)", link.link, "name") +
      td(`${p}-requests`, link.requests.toLocaleString("en"), link.requests) +
      td(`${p}-answered`, link.answered.toLocaleString("en"), link.answered) +
      td(`${p}-failed`, link.failed.toLocaleString("en"), link.failed) + "</tr>";
  });
  document.getElementById("links").innerHTML =
    header(["arm", "link", "requests", "answered", "failed"]) + rows.join("");
}

function renderService(service) {
  const box = document.getElementById("service");
  box.hidden = !service;
  if (!service) return;
  setText("service-url", service.url);
  setText("service-status", service.status, service.status);
  document.getElementById("service-status").className = service.status === "ok" ? "" : "problem";
  const health = service.health || {};
  const log = health.log || {};
  const parts = [];
  if (health.version) parts.push(`data version ${health.version}`);
  if (log.written !== undefined) {
    parts.push(`this worker's log: ${log.written} written, ${log.pending} pending, ` +
      `${log.lost} lost, ${log.rotated_away} rotated away`);
  }
  const failed = health.failed_links || {};
  if (Object.keys(failed).length) parts.push(`failed links: ${JSON.stringify(failed)}`);
  if (service.message) parts.push(service.message);
  setText("service-detail", parts.join("; "));
}

function renderTrajectory(state) {
  const rows = state.trajectory;
  document.getElementById("trajectory-panel").hidden = !rows;
  if (!rows) return;
  document.getElementById("trajectory-chart").innerHTML = (state.charts || {}).trajectory || "";
  const fmt = (v, d) => (v === null || v === undefined ? "n/a" : v.toFixed(d));
  const signed = (v) => (v === null || v === undefined ? "n/a" : (v >= 0 ? "+" : "") + v.toFixed(2));
  document.getElementById("trajectory").innerHTML = header(["day", "C (report)",
    "T1 (report)", "effect %", "interval %", "interval", "status"]) + rows.map((r) => {
    const p = `day-${r.day}`;
    return "<tr>" + td(`${p}-day`, r.day, r.day, "name") +
      td(`${p}-control_mean`, fmt(r.control_mean, 3), r.control_mean) +
      td(`${p}-treatment_mean`, fmt(r.treatment_mean, 3), r.treatment_mean) +
      td(`${p}-effect`, signed(r.effect), r.effect) +
      td(`${p}-interval`, `[${signed(r.lower)}, ${signed(r.upper)}]`, null) +
      td(`${p}-interval-kind`, r.interval, null, "name") +
      td(`${p}-status`, r.status, r.status, "name") + "</tr>";
  }).join("");
}

function renderExperiments(state) {
  const select = document.getElementById("experiment");
  const names = Object.keys(state.experiments || {});
  const current = state.experiment || "";
  const options = names.map((n) => `<option value="${esc(n)}"${n === current ? " selected" : ""}>` +
    `${esc(n)} (${Number(state.experiments[n]).toLocaleString("en")} events)</option>`).join("");
  if (select.innerHTML !== options) select.innerHTML = options;
  setText("chosen", state.chosen ? `(${state.chosen})` : "");
}

function renderVerdict(state) {
  const verdict = state.verdict;
  setText("verdict-headline", verdict ? verdict.headline : "no verdict yet");
  document.getElementById("verdict-headline").className =
    "headline" + (state.srm && state.srm.failed ? " mismatch" : "");
  document.getElementById("verdict-arms").innerHTML = verdict ?
    verdict.arms.map((line, i) => `<li id="verdict-arm-${i}">${esc(line)}</li>`).join("") : "";
}

function renderReader(state) {
  const reading = state.reading;
  const reader = state.reader;
  if (!reading || !reader) {
    setText("reader", "nothing yet");
    return;
  }
  const skipped = Object.entries(reading.skipped)
    .map(([kind, s]) => `${s.lines.toLocaleString("en")} ${kind} (e.g. ${s.examples[0] || ""})`);
  const element = document.getElementById("reader");
  element.innerHTML =
    `<span id="reader-events" data-value="${reading.events}">${reading.events.toLocaleString("en")}</span> events, ` +
    `<span id="reader-experiment-events" data-value="${state.events ?? ""}">${(state.events ?? 0).toLocaleString("en")}</span> in this experiment ` +
    `(<span id="reader-unassigned" data-value="${state.unassigned_events ?? ""}">${(state.unassigned_events ?? 0).toLocaleString("en")}</span> without an arm of it), ` +
    `<span id="reader-lines" data-value="${reading.lines}">${reading.lines.toLocaleString("en")}</span> lines from ` +
    `<span id="reader-files" data-value="${reading.files.length}">${reading.files.length}</span> files; ` +
    `skipped: <span id="reader-skipped" data-value="${reading.bad + reading.duplicates}">` +
    `${esc(skipped.join("; ") || "none")}</span>; ` +
    `bytes parsed <span id="reader-bytes" data-value="${reader.bytes_parsed}">${reader.bytes_parsed.toLocaleString("en")}</span> ` +
    `(+${reader.last_new_bytes.toLocaleString("en")} at this refresh), ` +
    `<span id="reader-waiting" data-value="${reader.waiting_bytes}">${reader.waiting_bytes.toLocaleString("en")}</span> bytes of a line being written` +
    (reading.truncated.length ? ` (a cut final line in ${esc(reading.truncated.join(", "))})` : "") +
    (reader.files_gone ? `; <span class="problem">${reader.files_gone} files deleted while followed ` +
      `(latest ${esc(reader.last_gone)})</span>` : "") +
    (state.switched_users ? `; <span class="problem">${state.switched_users} users whose arm changed</span>` : "");
}

function render(state) {
  setText("refreshed", state.refreshed);
  setText("generation", state.generation, state.generation);
  const following = state.following || {};
  setText("following", following.run ? `(run ${following.run}, day ${following.day ?? "?"})` : "");
  const message = document.getElementById("message");
  message.hidden = !state.message;
  message.textContent = state.message || "";
  renderExperiments(state);
  renderReader(state);
  renderVerdict(state);
  if (state.arms) {
    renderArms(state);
    renderEffects(state);
    renderServing(state);
  }
  renderService(state.service);
  renderTrajectory(state);
}

async function poll() {
  const query = chosenExperiment ? `?experiment=${encodeURIComponent(chosenExperiment)}` : "";
  const connection = document.getElementById("connection");
  try {
    const answer = await fetch(`/api/state${query}`, { cache: "no-store" });
    const body = await answer.json();
    if (!answer.ok) {
      connection.textContent = `${body.message || answer.status}`;
      chosenExperiment = null; // back to the dashboard's own choice
    } else {
      connection.textContent = "";
      render(body);
    }
  } catch (failure) {
    connection.textContent = `no answer from the dashboard (${failure}); trying again`;
  }
  if (followingRuns && polls % 10 === 0) loadRuns();
  polls += 1;
  setTimeout(poll, refreshMs);
}

// The registry is botify runs' own markdown: drawn here as tables, lists and headings.
function markdown(text) {
  const inline = (s) => esc(s).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/`([^`]+)`/g, "<code>$1</code>");
  const out = [];
  let table = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("|")) {
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
      if (cells.every((c) => /^-+:?$/.test(c))) continue;
      const tag = table === null ? "th" : "td";
      table = table || [];
      table.push("<tr>" + cells.map((c) => `<${tag}>${inline(c)}</${tag}>`).join("") + "</tr>");
      continue;
    }
    if (table !== null) {
      out.push(`<table>${table.join("")}</table>`);
      table = null;
    }
    if (line.startsWith("#")) {
      const level = Math.min(line.match(/^#+/)[0].length + 2, 6);
      out.push(`<h${level}>${inline(line.replace(/^#+\s*/, ""))}</h${level}>`);
    } else if (line.startsWith("- ")) {
      out.push(`<li>${inline(line.slice(2))}</li>`);
    } else if (line.trim()) {
      out.push(`<p>${inline(line)}</p>`);
    }
  }
  if (table !== null) out.push(`<table>${table.join("")}</table>`);
  return out.join("");
}

async function loadRuns() {
  document.getElementById("runs-panel").hidden = false;
  try {
    const answer = await fetch("/api/runs", { cache: "no-store" });
    const body = await answer.json();
    if (!answer.ok) {
      document.getElementById("runs").textContent = body.message;
      return;
    }
    document.getElementById("runs").innerHTML = markdown(body.markdown);
    for (const [id, fallback] of [["run-a", -2], ["run-b", -1]]) {
      const select = document.getElementById(id);
      const kept = select.value;
      select.innerHTML = body.runs.map((r) => `<option value="${esc(r)}">${esc(r)}</option>`).join("");
      select.value = kept && body.runs.includes(kept) ? kept :
        body.runs[Math.max(body.runs.length + fallback, 0)];
    }
  } catch (failure) {
    document.getElementById("runs").textContent = `no answer from the dashboard (${failure})`;
  }
}

async function compareRuns() {
  const a = document.getElementById("run-a").value;
  const b = document.getElementById("run-b").value;
  const message = document.getElementById("compare-message");
  const answer = await fetch(`/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  const body = await answer.json();
  message.textContent = answer.ok ? "" : body.message;
  document.getElementById("compare").innerHTML = answer.ok ? markdown(body.markdown) : "";
}

document.getElementById("experiment").addEventListener("change", (event) => {
  chosenExperiment = event.target.value;
});
document.getElementById("compare-button").addEventListener("click", compareRuns);
poll();

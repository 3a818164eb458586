// The staff UI's live updates: an EventSource on the organization's stream (/live/events, the
// ASGI process) and, for each event that concerns what is on screen, the same piece of page the
// server would render on a reload (a thread-list row, a thread's message, the sidebar counts).
// Without this script, or without the stream (the WSGI process answers 503, a signed-out
// session 401), every page works as it always has: no error is shown, there is just no update.
(function () {
  "use strict";

  var layout = document.querySelector("[data-live-stream]");
  if (!layout || !window.EventSource || !window.fetch || !window.JSON) return;

  var EVENTS = [
    "message.received", "message.sent", "thread.updated",
    // Only the sidebar's counts follow these.
    "message.pending_approval", "message.approved", "message.declined", "message.cancelled",
    "draft.created", "draft.deleted"
  ];
  var ROW_EVENTS = { "message.received": true, "message.sent": true, "thread.updated": true };

  var list = document.getElementById("thread-list");
  var messages = document.getElementById("thread-messages");
  var banner = document.getElementById("live-banner");
  var status = document.getElementById("live-status");
  var countsUrl = layout.getAttribute("data-live-counts");
  var baseTitle = document.title.replace(/^\(\d+\) /, "");

  function localize(root) {
    if (window.Sendook && window.Sendook.localizeTimes) window.Sendook.localizeTimes(root);
  }

  // A piece of page: its HTML, "" for 204 (nothing to show), null when it could not be had
  // (signed out: the login redirect is refused; offline; an error page). Never an error shown.
  function get(url, json) {
    return fetch(url, {
      credentials: "same-origin",
      redirect: "error",
      headers: { "Accept": json ? "application/json" : "text/html" }
    }).then(function (response) {
      if (response.status === 204) return "";
      if (!response.ok) return null;
      return json ? response.json() : response.text();
    }).catch(function () { return null; });
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content.querySelector("li");
  }

  var sayTimer = null;
  function say(text) {
    if (!status) return;
    // Emptied first, so the same words twice are announced twice.
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);
    // Not left behind for a screen reader's later reading of the page.
    if (sayTimer) clearTimeout(sayTimer);
    sayTimer = setTimeout(function () { status.textContent = ""; }, 15000);
  }

  function words(payload) {
    var from = payload.fromName || payload.from || "someone";
    return "New message from " + from + " — " + (payload.subject || "(no subject)");
  }

  // --- the sidebar's counts and the tab title -------------------------------------------------
  function setTitle(unread) {
    document.title = (unread > 0 ? "(" + unread + ") " : "") + baseTitle;
  }

  function setCount(link, n) {
    var span = link.querySelector(".count");
    if (!n) { if (span) span.parentNode.removeChild(span); return; }
    if (!span) {
      span = document.createElement("span");
      span.className = "count";
      link.appendChild(span);
    }
    span.textContent = String(n);
    span.setAttribute("aria-label", n + " " + (link.getAttribute("data-count-words") || ""));
  }

  function showCounts(data) {
    if (!data || typeof data !== "object") return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-view-count]"), function (el) {
      var n = (data.views || {})[el.getAttribute("data-view-count")];
      var span = el.querySelector(".count");
      if (typeof n === "number" && span) span.textContent = String(n);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-count-of]"), function (link) {
      var key = link.getAttribute("data-count-of");
      var n = key.indexOf("inbox:") === 0 ? (data.inboxes || {})[key.slice(6)] : data[key];
      if (typeof n === "number") setCount(link, n);
    });
    if (typeof data.unread === "number") setTitle(data.unread);
  }

  var countsTimer = null;
  function refreshCounts() {
    if (!countsUrl) return;
    if (countsTimer) clearTimeout(countsTimer);
    // One request for a burst of events.
    countsTimer = setTimeout(function () {
      countsTimer = null;
      get(countsUrl, true).then(showCounts);
    }, 200);
  }

  // The tab title from the page's own sidebar at once (the inboxes' unread counts).
  (function () {
    var unread = 0;
    Array.prototype.forEach.call(document.querySelectorAll('[data-count-of^="inbox:"] .count'), function (el) {
      unread += parseInt(el.textContent, 10) || 0;
    });
    setTitle(unread);
  })();

  // --- the thread list --------------------------------------------------------------------------
  var rowUrl = list && list.getAttribute("data-live-rows");
  var listInbox = rowUrl ? (rowUrl.match(/[?&]inbox=([^&]+)/) || [])[1] : null;
  var rowWork = {};  // thread id -> {moved, announce} waiting for its fetch

  function rowOf(threadId) {
    var rows = list.querySelectorAll(".thread-row");
    for (var i = 0; i < rows.length; i++) if (rows[i].getAttribute("data-thread") === threadId) return rows[i];
    return null;
  }

  // The row takes the server's new content; its checkbox stays the same element (ticked or
  // not, focused or not), and so does a keyboard selection.
  function patch(row, fresh) {
    var box = row.querySelector(".select-row");
    var freshBox = fresh.querySelector(".select-row");
    var selected = row.classList.contains("selected");
    row.className = fresh.className + (selected ? " selected" : "");
    Array.prototype.slice.call(row.childNodes).forEach(function (node) {
      if (node !== box) row.removeChild(node);
    });
    var after = box;
    Array.prototype.slice.call(fresh.childNodes).forEach(function (node) {
      if (node === freshBox && box) return;
      if (after) { row.insertBefore(node, after.nextSibling); after = node; } else row.appendChild(node);
    });
  }

  function showRow(threadId, work) {
    get(rowUrl.replace("THREAD", encodeURIComponent(threadId)), false).then(function (html) {
      if (html === null) return;
      var row = rowOf(threadId);
      if (html === "") {  // not (or no longer) in this list
        if (row && !(row.querySelector(".select-row") || {}).checked) row.parentNode.removeChild(row);
        return;
      }
      var fresh = parse(html);
      if (!fresh) return;
      var focused = document.activeElement;
      if (row) patch(row, fresh);
      else {
        row = fresh;
        if (!list.hasAttribute("data-live-new")) return;  // an older page: no new rows on it
      }
      if ((work.moved || !row.parentNode) && list.firstElementChild !== row) {
        list.insertBefore(row, list.firstElementChild);
        if (focused && row.contains(focused) && focused.focus) focused.focus();
      } else if (!row.parentNode) list.appendChild(row);
      list.hidden = false;
      var empty = document.getElementById("thread-list-empty");
      if (empty) empty.parentNode.removeChild(empty);
      row.classList.add("live-new");
      localize(row);
      // "Select all" recounts its rows (workflow.js listens for changes of row boxes).
      var box = row.querySelector(".select-row");
      if (box) box.dispatchEvent(new Event("change", { bubbles: true }));
      if (work.announce) say(work.announce);
    });
  }

  function onRowEvent(threadId, envelope, moved) {
    if (!list || !rowUrl) return;
    if (listInbox && envelope.inboxId && envelope.inboxId !== decodeURIComponent(listInbox)) return;
    if (!rowOf(threadId) && !list.hasAttribute("data-live-new")) return;
    var waiting = rowWork[threadId];
    var announce = envelope.event === "message.received" ? words(envelope.payload || {}) : "";
    if (waiting) {  // a burst on one thread: one fetch, after the last event
      waiting.moved = waiting.moved || moved;
      waiting.announce = announce || waiting.announce;
      return;
    }
    rowWork[threadId] = { moved: moved, announce: announce };
    setTimeout(function () {
      var work = rowWork[threadId];
      delete rowWork[threadId];
      showRow(threadId, work);
    }, 100);
  }

  // --- an open thread -------------------------------------------------------------------------
  var threadId = messages && messages.getAttribute("data-live-thread");
  var held = [];  // messages that arrived while a reply was being written: [{id, payload}]

  function writing() {
    var active = document.activeElement;
    if (active && active.closest && active.closest(".respond, .note-form")) return true;
    return ["reply-body", "forward-body", "note-text"].some(function (id) {
      var field = document.getElementById(id);
      return !!(field && field.value.trim());
    });
  }

  function shown(messageId) {
    return !!document.getElementById(messageId);
  }

  // Appends the message as the page renders it; the forms now expect it as the last message,
  // as they would after a reload (a message held behind the banner is not expected until shown).
  function append(messageId) {
    var url = messages.getAttribute("data-live-message").replace("MESSAGE", encodeURIComponent(messageId));
    return get(url + "?read=1", false).then(function (html) {
      var item = html ? parse(html) : null;
      if (!item || shown(messageId)) return null;
      messages.appendChild(item);
      localize(item);
      Array.prototype.forEach.call(document.querySelectorAll('input[name="expected_last_message_id"]'), function (input) {
        if (!document.querySelector(".collision")) input.value = messageId;
      });
      refreshCounts();
      return item;
    });
  }

  function showBanner() {
    if (!banner) return;
    banner.textContent = "";
    if (!held.length) return;
    var last = held[held.length - 1].payload;
    var p = document.createElement("p");
    var text = document.createElement("strong");
    text.textContent = held.length === 1 ? words(last) :
      held.length + " new messages; the latest from " + (last.fromName || last.from || "someone") +
      " — " + (last.subject || "(no subject)");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.setAttribute("data-live-show", "");
    button.textContent = held.length === 1 ? "Show it" : "Show them";
    button.addEventListener("click", showHeld);
    p.appendChild(text);
    p.appendChild(document.createTextNode(" "));
    p.appendChild(button);
    banner.appendChild(p);
  }

  function showHeld() {
    var ids = held.map(function (entry) { return entry.id; });
    held = [];
    banner.textContent = "";
    var first = null;
    ids.reduce(function (previous, id) {
      return previous.then(function () {
        return append(id).then(function (item) { first = first || item; });
      });
    }, Promise.resolve()).then(function () {
      if (!first) return;
      first.setAttribute("tabindex", "-1");
      first.scrollIntoView({ block: "start" });
      first.focus({ preventScroll: true });
    });
  }

  function onThreadMessage(envelope) {
    var payload = envelope.payload || {};
    var messageId = envelope.messageId || payload.id;
    if (!messages || payload.threadId !== threadId || !messageId || shown(messageId)) return;
    if (held.some(function (entry) { return entry.id === messageId; })) return;
    if (writing()) {
      // Not under the cursor of someone typing: a banner says it, a button shows it.
      held.push({ id: messageId, payload: payload });
      showBanner();
      refreshCounts();
      return;
    }
    append(messageId).then(function (item) { if (item) say(words(payload)); });
  }

  // --- the stream -----------------------------------------------------------------------------
  function onEvent(event) {
    var envelope;
    try { envelope = JSON.parse(event.data); } catch (e) { return; }
    if (!envelope || typeof envelope !== "object") return;
    var payload = envelope.payload || {};
    var type = envelope.event || event.type;
    if (ROW_EVENTS[type]) {
      var thread = type === "thread.updated" ? payload.id : payload.threadId;
      if (thread) onRowEvent(thread, envelope, type !== "thread.updated");
      if (type !== "thread.updated") onThreadMessage(envelope);
    }
    refreshCounts();
  }

  var streamUrl = layout.getAttribute("data-live-stream") + "?events=" + EVENTS.join(",");
  var lastId = "";
  var everOpen = false;
  var retryMs = 5000;

  function connect() {
    var source = new EventSource(streamUrl + (lastId ? "&after=" + encodeURIComponent(lastId) : ""));
    source.addEventListener("open", function () {
      everOpen = true;
      retryMs = 5000;
      // The page says whether it is live (for a stylesheet, and for the browser tests to wait on).
      document.documentElement.setAttribute("data-live", "open");
    });
    EVENTS.forEach(function (name) {
      source.addEventListener(name, function (event) {
        if (event.lastEventId) lastId = event.lastEventId;
        onEvent(event);
      });
    });
    source.addEventListener("error", function () {
      // While CONNECTING the browser is reconnecting by itself (with Last-Event-ID).
      if (source.readyState !== EventSource.CLOSED) {
        document.documentElement.setAttribute("data-live", "connecting");
        return;
      }
      source.close();
      document.documentElement.setAttribute("data-live", "off");
      // Never opened: no stream here (the WSGI process's 503, a signed-out 401): stay quiet.
      if (!everOpen) return;
      // Refused on a reconnect (a restarting server, a proxy's 502): try again, from the
      // last event seen, less and less often.
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 300000);
    });
  }

  connect();
})();

// The staff inbox's enhancements: keyboard shortcuts, times in the viewer's zone, and the
// reply/compose autosave. No framework, no inline script; every page works without it.
(function () {
  "use strict";

  // --- times: every <time datetime> in the viewer's zone ------------------------------------
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function localStamp(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function relative(d, now) {
    var minutes = Math.round((now - d) / 60000);
    if (minutes === 0) return "just now";
    if (minutes > 0) return minutes < 60 ? minutes + " min ago" : Math.floor(minutes / 60) + " h ago";
    minutes = -minutes;
    return minutes < 60 ? "in " + minutes + " min" : "in " + Math.floor(minutes / 60) + " h";
  }

  function shortDate(d, now) {
    var sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() &&
      d.getDate() === now.getDate();
    if (sameDay) return relative(d, now);
    var text = MONTHS[d.getMonth()] + " " + d.getDate();
    return d.getFullYear() === now.getFullYear() ? text : text + ", " + d.getFullYear();
  }

  function fullDate(d) {
    try {
      return new Intl.DateTimeFormat(undefined, {
        weekday: "long", year: "numeric", month: "long", day: "numeric",
        hour: "2-digit", minute: "2-digit", timeZoneName: "short"
      }).format(d);
    } catch (e) {
      return d.toString();
    }
  }

  function localizeTimes(root) {
    var now = new Date();
    Array.prototype.forEach.call((root || document).querySelectorAll("time[datetime]"), function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      if (!el.hasAttribute("data-utc")) el.setAttribute("data-utc", el.textContent.trim());
      el.textContent = shortDate(d, now);
      el.setAttribute("data-local", localStamp(d));
      el.setAttribute("title", fullDate(d));
    });
  }

  // --- keyboard -------------------------------------------------------------------------------
  function typing(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function visible(el) {
    return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  }

  function rows() {
    var found = document.querySelectorAll(".thread-row, [data-keyboard-list] .row");
    return Array.prototype.slice.call(found).filter(function (row, i, all) {
      return all.indexOf(row) === i;
    });
  }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row) { row.classList.remove("selected"); row.removeAttribute("aria-current"); });
    all[index].classList.add("selected");
    all[index].setAttribute("aria-current", "true");
    all[index].scrollIntoView({ block: "nearest" });
  }

  function selectedIndex() {
    return rows().findIndex(function (row) { return row.classList.contains("selected"); });
  }

  function clickKey(key) {
    var targets = document.querySelectorAll('[data-key="' + key + '"]');
    for (var i = 0; i < targets.length; i++) {
      if (visible(targets[i]) && !targets[i].disabled) { targets[i].click(); return true; }
    }
    return false;
  }

  var SHORTCUTS = [
    ["j / k", "Next / previous thread"],
    ["o or Enter", "Open the selected thread"],
    ["x", "Select the current thread (for bulk actions)"],
    ["r", "Reply"],
    ["e", "Close the thread"],
    ["a", "Assign the thread to me"],
    ["c", "Compose a new message"],
    ["/", "Search"],
    ["u", "Back to the list"],
    ["?", "This help"],
    ["Esc", "Leave a field, close this help"]
  ];
  var helpDialog = null;
  var helpOpener = null;

  function closeHelp() {
    if (!helpDialog || !helpDialog.open) return;
    helpDialog.close();
  }

  function openHelp() {
    if (!helpDialog) {
      helpDialog = document.createElement("dialog");
      helpDialog.className = "shortcuts";
      helpDialog.setAttribute("aria-labelledby", "shortcuts-title");
      var html = '<h2 id="shortcuts-title">Keyboard shortcuts</h2><table><tbody>';
      SHORTCUTS.forEach(function (s) {
        html += "<tr><th scope=\"row\"><kbd>" + s[0] + "</kbd></th><td>" + s[1] + "</td></tr>";
      });
      html += '</tbody></table><p><button type="button" class="primary" data-close-help>Done</button></p>';
      helpDialog.innerHTML = html;
      document.body.appendChild(helpDialog);
      helpDialog.querySelector("[data-close-help]").addEventListener("click", closeHelp);
      helpDialog.addEventListener("close", function () {
        if (helpOpener && helpOpener.focus) helpOpener.focus();
        helpOpener = null;
      });
    }
    helpOpener = document.activeElement;
    helpDialog.showModal();
    helpDialog.querySelector("[data-close-help]").focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (helpDialog && helpDialog.open) {
      if (event.key === "Escape") { event.preventDefault(); closeHelp(); }
      return;
    }
    if (event.key === "Escape" && typing(event)) { event.target.blur(); return; }
    if (typing(event)) return;
    var index = selectedIndex();
    switch (event.key) {
      case "j": select(index + 1); break;
      case "k": select(index < 0 ? 0 : index - 1); break;
      case "o":
      case "Enter": {
        var all = rows();
        if (index < 0 || !all[index]) return;
        var link = all[index].dataset.href || (all[index].querySelector("a[href]") || {}).href;
        if (!link) return;
        window.location.href = link;
        break;
      }
      case "x": {
        var current = rows()[index];
        var box = current && current.querySelector('input[type="checkbox"]');
        if (!box) return;
        box.click();
        break;
      }
      case "/": {
        var search = document.getElementById("search-box");
        if (!search) return;
        search.focus(); search.select();
        break;
      }
      case "r": {
        var reply = document.getElementById("reply-body") || document.getElementById("reply-link");
        if (!reply) return;
        if (reply.tagName === "A") window.location.href = reply.href;
        else { reply.closest("details") && (reply.closest("details").open = true); reply.focus(); }
        break;
      }
      case "e":
      case "a":
      case "c":
        if (!clickKey(event.key)) return;
        break;
      case "?": openHelp(); break;
      case "u": {
        var back = document.getElementById("back-link");
        if (back) window.location.href = back.href; else return;
        break;
      }
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });

  // --- autosave: the server's drafts, the browser's storage as the fallback ------------------
  var STORE = "sendook:draft:";
  var FIELDS = ["to", "cc", "bcc", "subject", "text"];
  var SERVER_EVERY_MS = 5000;   // at most this often while typing
  var SERVER_QUIET_MS = 2000;   // or once typing pauses this long
  var MAX_AGE_MS = 14 * 24 * 3600 * 1000;

  function stored(key) {
    try {
      var entry = JSON.parse(window.localStorage.getItem(STORE + key) || "null");
      if (entry && Date.now() - entry.savedAt > MAX_AGE_MS) return null;
      return entry;
    } catch (e) { return null; }
  }

  function store(key, entry) {
    try { window.localStorage.setItem(STORE + key, JSON.stringify(entry)); } catch (e) { /* full or off */ }
  }

  function forget(key) {
    try { window.localStorage.removeItem(STORE + key); } catch (e) { /* off */ }
  }

  function values(form) {
    var out = {};
    FIELDS.forEach(function (name) {
      var el = form.elements[name];
      if (el && el.type !== "file") out[name] = el.value;
    });
    return out;
  }

  function clock(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }

  function say(form, text, loginUrl) {
    var status = form.querySelector("[data-autosave-status]");
    if (!status) return;
    status.textContent = text;
    if (loginUrl) {
      var a = document.createElement("a");
      a.href = loginUrl;
      a.textContent = "Log in again";
      status.appendChild(document.createTextNode(" "));
      status.appendChild(a);
    }
    status.hidden = false;
  }

  function setupAutosave(form) {
    var key = form.getAttribute("data-storage-key");
    var url = form.getAttribute("data-autosave");
    var draftInput = form.querySelector("[data-draft-id]");
    var textarea = form.elements.text;
    var quietTimer = null, lastServerSave = 0, dirty = false, sending = false, stopped = false;

    function keepLocally() {
      var entry = values(form);
      entry.savedAt = Date.now();
      entry.draft = draftInput ? draftInput.value : "";
      store(key, entry);
    }

    function saveToServer() {
      quietTimer = null;
      if (!url || !dirty || sending || stopped || !window.fetch) return;
      dirty = false; sending = true; lastServerSave = Date.now();
      var body = new FormData();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "file" || el.type === "submit" || el.disabled) return;
        if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
        body.append(el.name, el.value);
      });
      body.append("page", form.getAttribute("data-page") || window.location.pathname);
      fetch(url, { method: "POST", body: body, credentials: "same-origin",
                   headers: { "Accept": "application/json" }, redirect: "error" })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (response.ok && data.draft) {
              if (draftInput) draftInput.value = data.draft;
              keepLocally();
              say(form, "Draft saved at " + clock(new Date()) + ".");
            } else if (response.status === 401) {
              say(form, "You are signed out. What you typed is kept in this browser and comes back after you log in.", data.login);
            } else if (response.status === 409 && data.code === "form_sent") {
              stopped = true;
            } else {
              say(form, "Could not save the draft on the server; it is kept in this browser.");
            }
          });
        })
        .catch(function () { say(form, "Offline: the draft is kept in this browser."); })
        .then(function () { sending = false; });
    }

    form.addEventListener("input", function (event) {
      if (event.target.type === "file" || stopped) return;
      keepLocally();
      dirty = true;
      if (!url) return;
      if (quietTimer) clearTimeout(quietTimer);
      var wait = Date.now() - lastServerSave >= SERVER_EVERY_MS ? SERVER_QUIET_MS :
        Math.min(SERVER_QUIET_MS, SERVER_EVERY_MS - (Date.now() - lastServerSave));
      quietTimer = setTimeout(saveToServer, Math.max(wait, 300));
    });

    form.addEventListener("submit", function () {
      stopped = true;
      if (quietTimer) clearTimeout(quietTimer);
      var entry = values(form);
      entry.savedAt = Date.now();
      entry.draft = draftInput ? draftInput.value : "";
      entry.submitted = true;
      store(key, entry);
    });

    // Coming back: what the server put in the form wins; else the newer of the browser's copy
    // and the server's autosaved draft.
    var local = stored(key);
    var landedOnSent = window.location.hash.length > 1 &&
      document.getElementById(window.location.hash.slice(1));
    if (local && local.submitted && landedOnSent) { forget(key); local = null; }
    if (textarea && textarea.value.trim()) { if (local) keepLocally(); return; }

    function restore(entry, from) {
      if (!entry || !(entry.text || "").trim()) return;
      FIELDS.forEach(function (name) {
        var el = form.elements[name];
        if (el && typeof entry[name] === "string" && (name === "text" || entry[name])) el.value = entry[name];
      });
      if (draftInput && entry.draft) draftInput.value = entry.draft;
      var details = form.closest("details");
      if (details) details.open = true;
      say(form, "Your unsent text is back (" + from + ", " + clock(new Date(entry.savedAt)) + ").");
    }

    var parent = form.elements.parent;
    if (url && parent && window.fetch) {
      fetch(url + "&parent=" + encodeURIComponent(parent.value),
            { credentials: "same-origin", headers: { "Accept": "application/json" }, redirect: "error" })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function () { return {}; })
        .then(function (server) {
          if (textarea.value.trim()) return;  // typed meanwhile
          var fromServer = server && server.draft ? {
            to: server.to, cc: server.cc, bcc: server.bcc, text: server.text,
            draft: server.draft, savedAt: Date.parse(server.savedAt)
          } : null;
          if (fromServer && (!local || fromServer.savedAt >= local.savedAt)) restore(fromServer, "saved draft");
          else restore(local, "kept in this browser");
        });
    } else {
      restore(local, "kept in this browser");
    }
  }

  function setupRevise() {
    document.addEventListener("click", function (event) {
      var revise = event.target.closest && event.target.closest("[data-revise]");
      if (!revise) return;
      var target = document.querySelector(revise.getAttribute("href"));
      if (!target) return;
      event.preventDefault();
      var details = target.closest("details");
      if (details) details.open = true;
      target.focus();
    });
  }

  function setupLogout() {
    // A deliberate log-out leaves nothing typed behind in this browser.
    Array.prototype.forEach.call(document.querySelectorAll('form[action$="/logout"]'), function (form) {
      form.addEventListener("submit", function () {
        try {
          Object.keys(window.localStorage).forEach(function (k) {
            if (k.indexOf(STORE) === 0) window.localStorage.removeItem(k);
          });
        } catch (e) { /* off */ }
      });
    });
  }

  function start() {
    localizeTimes(document);
    setInterval(function () { localizeTimes(document); }, 60000);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-storage-key]"), setupAutosave);
    setupRevise();
    setupLogout();
  }

  window.Sendook = window.Sendook || {};
  window.Sendook.localizeTimes = localizeTimes;

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// The helpdesk's enhancements (the pages work without them): select-all in the bulk bar, the
// bulk label box only for "Add label…", whole-row clicks in the thread list, and the viewer's
// time zone for "Snooze until". No framework, no inline script (the CSP allows 'self' only).
(function () {
  "use strict";

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  // Select all: checks every row; unchecking a row unchecks "Select all" (without a script the
  // box means "the whole page", which the bulk view reads from page_ids).
  var selectAll = document.getElementById("select-all");
  function syncSelectAll() {
    if (!selectAll) return;
    var boxes = all(".select-row");
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    selectAll.checked = boxes.length > 0 && checked === boxes.length;
    selectAll.indeterminate = checked > 0 && checked < boxes.length;
  }
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      all(".select-row").forEach(function (box) { box.checked = selectAll.checked; });
      selectAll.indeterminate = false;
    });
    document.addEventListener("change", function (event) {
      if (event.target.classList && event.target.classList.contains("select-row")) syncSelectAll();
    });
    syncSelectAll();
  }

  // The label box matters only for "Add label…".
  var action = document.getElementById("bulk-action");
  var labelBox = document.getElementById("bulk-label");
  function syncLabelBox() {
    if (!action || !labelBox) return;
    var wanted = action.value === "label:add";
    labelBox.hidden = !wanted;
    var label = document.querySelector("label[for=bulk-label]");
    if (label) label.hidden = !wanted;
    labelBox.required = wanted;
  }
  if (action) { action.addEventListener("change", syncLabelBox); syncLabelBox(); }

  // A click anywhere on a row (not on its checkbox or link) opens the thread.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest(".thread-row");
    if (!row || event.target.closest("a, input, label, button, select")) return;
    if (window.getSelection && String(window.getSelection())) return;  // selecting text
    if (row.dataset.href) window.location.href = row.dataset.href;
  });

  // "Snooze until" is read in the viewer's zone: send it, and say it.
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (zone) {
    all("input[data-timezone]").forEach(function (input) { input.value = zone; });
    all("[data-zone-hint]").forEach(function (hint) { hint.textContent = "(your time, " + zone + ")"; });
  }
  // The earliest a snooze can be: now (the server says so in words if it is in the past).
  all("input[type=datetime-local][name=snoozed_until]").forEach(function (input) {
    var now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    input.min = now.toISOString().slice(0, 16);
  });
})();

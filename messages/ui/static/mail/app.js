// Keyboard shortcuts and small conveniences for the staff inbox. No framework, no inline script.
(function () {
  "use strict";

  function typing(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function rows() {
    var list = document.querySelector("[data-keyboard-list]");
    return list ? Array.prototype.slice.call(list.querySelectorAll(".row")) : [];
  }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row) { row.classList.remove("selected"); });
    all[index].classList.add("selected");
    all[index].scrollIntoView({ block: "nearest" });
  }

  function selectedIndex() {
    return rows().findIndex(function (row) { return row.classList.contains("selected"); });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(event)) { event.target.blur(); return; }
    if (typing(event)) return;
    var index = selectedIndex();
    switch (event.key) {
      case "j": select(index + 1); break;
      case "k": select(index < 0 ? 0 : index - 1); break;
      case "o":
      case "Enter": {
        var all = rows();
        if (index >= 0 && all[index]) window.location.href = all[index].dataset.href;
        else return;
        break;
      }
      case "/": {
        var box = document.getElementById("search-box");
        if (box) { box.focus(); box.select(); }
        break;
      }
      case "r": {
        var reply = document.getElementById("reply-body") || document.getElementById("reply-link");
        if (!reply) return;
        if (reply.tagName === "A") window.location.href = reply.href;
        else { reply.closest("details") && (reply.closest("details").open = true); reply.focus(); }
        break;
      }
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
})();

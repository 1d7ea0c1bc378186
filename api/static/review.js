// The review workbench's keyboard and comment helpers. Every action here is also a link,
// a button or a form field on the page: nothing needs this script to work.
(function () {
  "use strict";

  // Shortcuts never fire while someone types, or with a modifier (the browser's own keys).
  function typing(el) {
    if (!el) return false;
    const tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function follow(id) {
    const a = document.getElementById(id);
    if (a && a.href) window.location.assign(a.href);
  }

  const help = document.getElementById("shortcuts");
  const helpButton = document.getElementById("shortcuts-button");
  function toggleHelp() {
    if (!help || typeof help.showModal !== "function") return;
    if (help.open) help.close();
    else help.showModal();
  }
  if (help && helpButton) {
    helpButton.hidden = false; // the shortcuts exist only with this script
    helpButton.addEventListener("click", toggleHelp);
    help.addEventListener("close", function () { helpButton.focus(); });
  }

  const form = document.getElementById("review-form");
  if (form) {
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typing(e.target)) return;
      if (e.key === "?") { e.preventDefault(); toggleHelp(); return; }
      if (help && help.open) return;
      if (e.key === "j") follow("nav-next");
      else if (e.key === "k") follow("nav-prev");
      else if (e.key === "n") follow("nav-queue-next");
      else if (e.key === "s") {
        e.preventDefault();
        if (typeof form.requestSubmit === "function") form.requestSubmit();
        else form.submit();
      }
    });
  }

  // Assist mode: one click copies the rubric judge's suggested level into the reviewer's
  // own score field (which they may change; saving is theirs). Blind mode renders no button.
  document.querySelectorAll("button.judge-copy").forEach(function (b) {
    const field = document.getElementById(b.dataset.target || "");
    if (!field) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      field.value = b.dataset.score || "";
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.focus();
      const live = document.getElementById("status");
      if (live) live.textContent = "Copied the model's suggestion " + field.value + " into your score; it is saved only when you save your review.";
    });
  });

  // The file page: a line number (or a cell's link) fills the comment form's anchor and
  // moves to the comment box, without reloading the page.
  const lineField = document.getElementById("comment-line");
  const cellField = document.getElementById("comment-cell");
  const body = document.getElementById("comment-body");
  const status = document.getElementById("status");
  function choose(field, value, what) {
    if (!field || !body) return false;
    field.value = value;
    document.querySelectorAll("tr.selected").forEach(function (r) { r.classList.remove("selected"); });
    if (status) status.textContent = "Commenting on " + what + " " + value + ".";
    body.focus();
    return true;
  }
  document.querySelectorAll("a.line-link").forEach(function (a) {
    a.addEventListener("click", function (e) {
      const n = a.dataset.line;
      if (choose(lineField, n, "line")) {
        e.preventDefault();
        const row = document.getElementById("L-" + n);
        if (row) row.classList.add("selected");
        history.replaceState(null, "", "#L-" + n);
      }
    });
  });
  document.querySelectorAll("a.cell-link").forEach(function (a) {
    a.addEventListener("click", function (e) {
      if (choose(cellField, a.dataset.cell, "cell")) e.preventDefault();
    });
  });
})();

// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Status messages the server rendered into the layout's live region (#status) are in the
  // page from the start, so assistive technology would not announce them: a live region
  // speaks changes only. Copy their text into a visually hidden live region shortly after
  // load, which is a change, so "Review saved." or an error is heard once.
  const status = document.getElementById("status");
  if (status && status.textContent.trim()) {
    const announcer = document.createElement("div");
    announcer.className = "visually-hidden";
    announcer.setAttribute("aria-live", status.querySelector(".error") ? "assertive" : "polite");
    (status.parentElement || document.body).appendChild(announcer);
    setTimeout(() => { announcer.textContent = status.textContent.trim(); }, 300);
  }

  // A wide table scrolls inside its .table-wrap box; keyboard users must be able to reach
  // that box to scroll it. Any wrap that really scrolls and has no tab stop of its own
  // becomes one, named after its table's caption or the nearest heading before it.
  function focusableWraps() {
    document.querySelectorAll(".table-wrap").forEach((wrap) => {
      if (wrap.dataset.madeFocusable === undefined && wrap.hasAttribute("tabindex")) return;
      const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (!scrolls) {
        if (wrap.dataset.madeFocusable !== undefined) wrap.removeAttribute("tabindex");
        return;
      }
      wrap.dataset.madeFocusable = "";
      wrap.setAttribute("tabindex", "0");
      if (!wrap.hasAttribute("role")) wrap.setAttribute("role", "region");
      if (!wrap.hasAttribute("aria-label") && !wrap.hasAttribute("aria-labelledby")) {
        const caption = wrap.querySelector("caption");
        let heading = null;
        for (let el = wrap; el && !heading; el = el.parentElement) {
          for (let sib = el.previousElementSibling; sib && !heading; sib = sib.previousElementSibling) {
            if (/^H[1-6]$/.test(sib.tagName)) heading = sib;
          }
        }
        const name = (caption || heading || {}).textContent || "Table";
        wrap.setAttribute("aria-label", name.trim() + " (scrolls sideways)");
      }
    });
  }
  focusableWraps();
  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(focusableWraps, 150);
  });

  // Live status on the applicant portal: poll until each submission's grading settles.
  const done = new Set(["graded", "invalid", "error", "timeout"]);
  function poll(el) {
    const id = el.dataset.submission;
    fetch("/api/v1/me/submissions/" + id, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((s) => {
        if (!s) return;
        if (s.status !== el.dataset.status) {
          el.dataset.status = s.status;
          el.textContent = s.status;
          if (done.has(s.status)) { window.location.reload(); return; }
        }
        if (!done.has(s.status)) setTimeout(() => poll(el), 1500);
      })
      .catch(() => setTimeout(() => poll(el), 5000));
  }
  document.querySelectorAll("[data-submission]").forEach((el) => {
    if (!done.has(el.dataset.status)) setTimeout(() => poll(el), 1000);
  });
})();

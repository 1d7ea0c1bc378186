// Small progressive enhancement: live status on the applicant portal. Pages work without it.
(function () {
  "use strict";
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

// The applicant portal: deadline countdowns, the time zone guess, submission states.
// Every page works without it; the server's clock is the truth for the countdown.
(function () {
  "use strict";

  // Each countdown carries its deadline and the server's time when the page was made (ISO,
  // UTC). The difference from this browser's clock is kept, so a wrong local clock does not
  // move the deadline.
  function left(ms) {
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return (d ? d + " d " : "") + (d || h ? h + " h " : "") + two(m) + " min " + two(sec) + " s left";
  }
  document.querySelectorAll(".countdown[data-deadline]").forEach((el) => {
    const deadline = Date.parse(el.dataset.deadline);
    const skew = Date.parse(el.dataset.now) - Date.now();
    if (Number.isNaN(deadline) || Number.isNaN(skew)) return;
    function tick() {
      const remaining = deadline - (Date.now() + skew);
      if (remaining <= 0) {
        el.textContent = "The deadline has passed.";
        el.classList.add("passed");
        return;
      }
      el.textContent = left(remaining);
      setTimeout(tick, 1000 - ((Date.now() + skew) % 1000) || 1000);
    }
    tick();
  });

  // Time zone: while the stored choice is still the default (UTC), pre-select the browser's
  // zone and say so; nothing is saved until the applicant presses Save.
  const select = document.getElementById("timezone");
  if (select && select.dataset.stored === "UTC") {
    let guess = "";
    try { guess = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { guess = ""; }
    const option = guess && guess !== "UTC" ? select.querySelector('option[value="' + CSS.escape(guess) + '"]') : null;
    if (option) {
      option.selected = true;
      const hint = document.getElementById("timezone-hint");
      if (hint) hint.textContent = "Your browser says " + guess + ": press Save time zone to show times there.";
    }
  }

  // Submission states: poll each until it is checked, then reload to show what changed.
  const settled = new Set(["checked", "could not be checked"]);
  function poll(el) {
    fetch("/api/v1/me/submissions/" + el.dataset.mine, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((s) => {
        if (!s) return;
        const queue = document.getElementById("queue-" + el.dataset.mine);
        if (queue) queue.textContent = s.queue_said || "";
        if (s.state !== el.dataset.state) {
          el.dataset.state = s.state;
          el.textContent = s.state;
          if (settled.has(s.state)) { window.location.reload(); return; }
        }
        if (!settled.has(s.state)) setTimeout(() => poll(el), 1500);
      })
      .catch(() => setTimeout(() => poll(el), 5000));
  }
  document.querySelectorAll("[data-mine]").forEach((el) => {
    if (!settled.has(el.dataset.state)) setTimeout(() => poll(el), 1000);
  });
})();

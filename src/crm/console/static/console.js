// The console's one script. A button with data-copy="<input id>" copies that input's value
// (the calendar feed's address) and says so in the element "<input id>-status".
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copy + "-status");
  if (!input) return;
  const said = () => { if (status) status.textContent = button.dataset.copied || ""; };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(said, () => {
      if (document.execCommand("copy")) said();
    });
  } else if (document.execCommand("copy")) {
    said();
  }
});

// Live pages (the board, the queue, a customer's page): <main data-live="URL"> follows the
// server-sent events at URL; on "changed" the page is fetched again with min_position (its
// own read-your-writes wait and access rules) and its content swapped in. A user in the middle
// of something (a focused or edited field) is not interrupted: #live-notice says the page
// changed and its button shows the changes. Without this script the pages work as they are.
(() => {
  const main = document.getElementById("main");
  if (!main || !main.dataset.live || !window.EventSource) return;
  const notice = document.getElementById("live-notice");
  let latest = 0;
  let edited = false;
  let timer = null;
  main.addEventListener("input", () => { edited = true; });
  const busy = () => {
    const active = document.activeElement;
    return edited || (active && active !== main && main.contains(active)
      && active.matches("input, select, textarea"));
  };
  const refresh = async () => {
    const url = new URL(window.location.href);
    url.searchParams.set("min_position", String(latest));
    url.searchParams.delete("done");
    const answer = await fetch(url, { credentials: "same-origin" });
    if (!answer.ok || answer.redirected) return;
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById("main");
    if (!fresh) return;
    main.replaceChildren(...fresh.childNodes);
    edited = false;
    if (notice) notice.hidden = true;
    main.dispatchEvent(new CustomEvent("crm:live-updated", { bubbles: true }));
  };
  const changed = (event) => {
    latest = Math.max(latest, Number(event.data) || 0);
    if (busy()) {
      if (notice) notice.hidden = false;
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };
  const source = new EventSource(main.dataset.live);
  source.addEventListener("changed", changed);
  source.addEventListener("open", () => { main.dataset.liveOpen = "true"; });
  const show = document.getElementById("live-show");
  if (show) show.addEventListener("click", () => { edited = false; refresh(); });
  window.addEventListener("pagehide", () => source.close());
})();

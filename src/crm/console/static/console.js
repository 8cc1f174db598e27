// The console's one script: a button with data-copy="<input id>" copies that input's value
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

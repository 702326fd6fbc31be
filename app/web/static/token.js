// The token forms of the Models and Jobs views: the token is asked once and kept in
// sessionStorage for this tab (never in a URL); every form shows whether one is kept.

import { token } from "./api.js";

export function setUpTokenForms(root) {
  const forms = [...root.querySelectorAll(".token-form")];
  const refresh = () => {
    for (const form of forms) {
      form.querySelector('[data-out="token-state"]').textContent = token.get()
        ? "A token is kept for this tab."
        : "No token yet: needed to train, activate and delete.";
      form.elements.token.value = "";
    }
  };
  for (const form of forms) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = form.elements.token.value.trim();
      if (value) token.set(value);
      refresh();
    });
    form.querySelector('[data-action="forget"]').addEventListener("click", () => {
      token.clear();
      refresh();
    });
  }
  refresh();
}

// Move the focus to the visible token field (when an action needed a token and had none).
export function askForToken(view) {
  view.querySelector('.token-form input[name="token"]')?.focus();
}

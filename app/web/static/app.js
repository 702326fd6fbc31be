// The page: three views behind tabs (Draw, Models, Jobs), chosen by the URL's hash.

import { DrawView } from "./draw.js";
import { JobsView } from "./jobs.js";
import { ModelsView } from "./models.js";
import { setUpTokenForms } from "./token.js";

const views = {
  draw: new DrawView(document.getElementById("view-draw")),
  models: new ModelsView(document.getElementById("view-models")),
  jobs: new JobsView(document.getElementById("view-jobs")),
};
const tabs = [...document.querySelectorAll('[role="tab"]')];
setUpTokenForms(document);

function select(name, focus = false) {
  for (const tab of tabs) {
    const chosen = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(chosen));
    tab.tabIndex = chosen ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !chosen;
    if (chosen && focus) tab.focus();
  }
  views[name].show();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => {
    window.location.hash = tab.id.slice(4);
  });
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
    window.location.hash = next.id.slice(4);
    next.focus();
  });
}

const current = () => {
  const name = window.location.hash.slice(1);
  return name in views ? name : "draw";
};
window.addEventListener("hashchange", () => select(current()));
select(current());

// The Models view: every name with its versions, metrics, lineage and figures; activate,
// roll back and delete with the token.

import { call, explain } from "./api.js";
import { element } from "./dom.js";
import { askForToken } from "./token.js";

export class ModelsView {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("#models-list");
    this.status = root.querySelector("#models-status");
  }

  async show() {
    try {
      this.render(await call("/models"));
    } catch (error) {
      this.say(explain(error), true);
    }
  }

  say(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }

  render(models) {
    this.list.replaceChildren(...models.map((model) => this.card(model)));
  }

  card(model) {
    const article = element("article", { className: "model", "aria-labelledby": `model-${model.name}` });
    const title = element("h2", { id: `model-${model.name}` }, model.name, " ", element("small", {}, model.kind ?? ""));
    const state = element(
      "p",
      {},
      `active: ${model.active ? `v${model.active}` : "none"}; this API serves: ${model.serving ? `v${model.serving}` : "none"}`,
    );
    const table = element("table", {});
    table.append(
      element("caption", { className: "visually-hidden" }, `Versions of ${model.name}`),
      element("thead", {}, element("tr", {}, ...["Version", "Created", "Metrics", "Lineage", "Figures", "Actions"].map((h) => element("th", { scope: "col" }, h)))),
    );
    const body = element("tbody", {});
    for (const version of [...model.versions].reverse()) {
      body.append(...this.rows(model, version));
    }
    table.append(body);
    article.append(title, state, element("div", { className: "scroll" }, table));
    return article;
  }

  rows(model, version) {
    const v = version.version;
    const active = v === model.active;
    const metrics = Object.entries(version.metrics).map(([k, value]) => `${k} ${Number(value).toPrecision(4)}`).join(", ");
    const lineage = Object.entries(version.lineage).map(([k, value]) => `${k} v${value}`).join(", ");
    const actions = element("td", { className: "actions" });
    if (active) {
      actions.append(element("span", { className: "active-badge" }, "active"));
    } else {
      const label = model.active && v < model.active ? `Roll back to v${v}` : `Activate v${v}`;
      const activate = element("button", { type: "button", "aria-label": `${label} of ${model.name}` }, label);
      activate.addEventListener("click", () => this.act(`/models/${model.name}/versions/${v}/activate`, "POST", `${model.name} v${v} is active now; the API serves it within seconds.`));
      const remove = element("button", { type: "button", "aria-label": `Delete v${v} of ${model.name}` }, "Delete");
      remove.addEventListener("click", () => {
        const sure = element("button", { type: "button", className: "danger", "aria-label": `Really delete v${v} of ${model.name}` }, `Really delete v${v}`);
        sure.addEventListener("click", () => this.act(`/models/${model.name}/versions/${v}`, "DELETE", `${model.name} v${v} is deleted.`));
        remove.replaceWith(sure);
        sure.focus();
      });
      actions.append(activate, remove);
    }
    const figures = version.figures ?? [];
    const figureCell = element("td", {});
    const gallery = element("tr", { className: "figures", hidden: true });
    if (figures.length) {
      const toggle = element("button", { type: "button", "aria-expanded": "false", "aria-label": `Figures of ${model.name} v${v}` }, `Figures (${figures.length})`);
      const cell = element("td", { colSpan: 6 });
      gallery.append(cell);
      toggle.addEventListener("click", () => {
        const open = gallery.hidden;
        gallery.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        if (open && !cell.childElementCount) {
          cell.append(...figures.map((name) => {
            const img = element("img", {
              src: `/models/${model.name}/versions/${v}/figures/${encodeURIComponent(name)}.png`,
              alt: `${name} of ${model.name} v${v}`,
              loading: "lazy",
            });
            return element("figure", {}, img, element("figcaption", {}, name));
          }));
        }
      });
      figureCell.append(toggle);
    } else {
      figureCell.textContent = "none";
    }
    const row = element("tr", { className: active ? "is-active" : "" },
      element("th", { scope: "row" }, `v${v}`),
      element("td", {}, version.created ? version.created.replace("T", " ").slice(0, 19) : ""),
      element("td", {}, metrics),
      element("td", {}, lineage),
      figureCell,
      actions,
    );
    return [row, gallery];
  }

  async act(path, method, done) {
    try {
      await call(path, { method, auth: true });
      this.say(done);
      await this.show();
    } catch (error) {
      this.say(explain(error), true);
      if (error.status === "token" || error.status === 401) askForToken(this.root);
    }
  }
}

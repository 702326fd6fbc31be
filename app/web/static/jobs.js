// The Jobs view: a form built from GET /job-schema, and a job followed live (progress
// and loss curve, polled from GET /jobs/{id}) with a button to cancel it.

import { call, explain } from "./api.js";
import { drawCurves } from "./chart.js";
import { element } from "./dom.js";
import { askForToken } from "./token.js";

const POLL_MS = 600;
const ENDED = new Set(["succeeded", "failed", "cancelled"]);

export class JobsView {
  constructor(root) {
    this.root = root;
    this.form = root.querySelector("#job-form");
    this.paramsBox = root.querySelector("#job-params");
    this.status = root.querySelector("#jobs-status");
    this.watchBox = root.querySelector("#job-watch");
    this.schema = null;
    this.kindsByName = {};
    this.watching = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.form.elements.model.addEventListener("input", () => this.nameChanged());
    this.form.elements.kind.addEventListener("change", () => this.buildParams());
    this.watchBox.querySelector('[data-action="cancel"]').addEventListener("click", () => this.cancel());
    root.querySelector("#recent-jobs").addEventListener("click", () => this.recent());
  }

  async show() {
    try {
      const [schema, models] = await Promise.all([
        this.schema ? Promise.resolve(this.schema) : call("/job-schema"),
        call("/models"),
      ]);
      const first = !this.schema;
      this.schema = schema;
      this.kindsByName = { ...schema.defaults };
      for (const model of models) if (model.kind) this.kindsByName[model.name] = model.kind;
      this.root.querySelector("#model-names").replaceChildren(
        ...Object.keys(this.kindsByName).sort().map((name) => element("option", { value: name })),
      );
      if (first) {
        const kind = this.form.elements.kind;
        kind.replaceChildren(...Object.keys(schema.kinds).map((name) => element("option", { value: name }, name)));
        this.form.elements.model.value = "classifier";
        this.nameChanged();
      }
    } catch (error) {
      this.say(explain(error), true);
    }
  }

  say(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }

  nameChanged() {
    const known = this.kindsByName[this.form.elements.model.value];
    const kind = this.form.elements.kind;
    kind.disabled = Boolean(known);
    if (known) kind.value = known;
    this.buildParams();
  }

  // One field per parameter of the kind, from its JSON schema, filled with its default.
  buildParams() {
    const kind = this.schema.kinds[this.form.elements.kind.value];
    const fields = Object.entries(kind.params.properties).map(([name, spec]) => paramField(name, spec));
    this.paramsBox.replaceChildren(element("legend", {}, `Parameters of a ${this.form.elements.kind.value}: ${kind.summary}`), ...fields);
  }

  async submit() {
    const form = this.form.elements;
    const name = form.model.value.trim();
    const known = Boolean(this.kindsByName[name]);
    const kind = this.schema.kinds[form.kind.value];
    const params = {};
    for (const [key, spec] of Object.entries(kind.params.properties)) {
      const value = readParam(this.paramsBox.querySelector(`[name="param-${key}"]`), spec);
      if (value !== undefined && value !== (spec.default ?? null)) params[key] = value;
    }
    const job = { model: name, params, activate: form.activate.checked };
    if (!known) job.kind = form.kind.value;
    try {
      const accepted = await call("/jobs", { method: "POST", json: job, auth: true });
      this.say(`Job ${accepted.id} accepted.`);
      this.watch(accepted.id);
    } catch (error) {
      this.say(explain(error), true);
      if (error.status === "token" || error.status === 401) askForToken(this.root);
    }
  }

  async watch(id) {
    this.watching = id;
    this.watchBox.hidden = false;
    this.watchBox.querySelector("h2").textContent = `Job ${id}`;
    while (this.watching === id) {
      let job;
      try {
        job = await call(`/jobs/${id}`, { auth: true });
      } catch (error) {
        this.say(explain(error), true);
        return;
      }
      if (this.watching !== id) return;
      this.showJob(job);
      if (ENDED.has(job.state)) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  showJob(job) {
    const box = this.watchBox;
    const progress = job.progress ?? {};
    let state = `${job.model}: ${job.state}`;
    if (progress.epochs) state += `, epoch ${progress.epoch} of ${progress.epochs}`;
    if (job.result) state += `; published ${job.result.model} v${job.result.version}${job.result.activated ? " (active)" : ""}`;
    if (job.error) state += `; ${job.error}`;
    box.querySelector('[data-out="job-state"]').textContent = state;
    const bar = box.querySelector('[data-out="job-progress"]');
    bar.value = job.state === "succeeded" ? 1 : (progress.fraction ?? 0);
    bar.setAttribute("aria-valuetext", `${Math.round(bar.value * 100)}%`);
    box.querySelector('[data-out="job-metrics"]').textContent = Object.entries(job.metrics ?? {})
      .map(([key, value]) => `${key} ${Number(value).toPrecision(4)}`)
      .join(", ");
    drawCurves(box.querySelector('[data-out="job-curve"]'), job.history ?? []);
    box.querySelector('[data-action="cancel"]').disabled = ENDED.has(job.state);
  }

  async cancel() {
    try {
      this.showJob(await call(`/jobs/${this.watching}`, { method: "DELETE", auth: true }));
      this.say("Cancelled: a queued job never runs, a running one stops at the next batch.");
    } catch (error) {
      this.say(explain(error), true);
    }
  }

  async recent() {
    const list = this.root.querySelector("#recent-list");
    try {
      const jobs = await call("/jobs?limit=10", { auth: true });
      list.replaceChildren(
        ...jobs.map((job) => {
          const button = element("button", { type: "button", "aria-label": `Watch job ${job.id}` }, "Watch");
          button.addEventListener("click", () => this.watch(job.id));
          return element("li", {}, `${job.submitted.slice(0, 19).replace("T", " ")} ${job.model}: ${job.state} `, button);
        }),
      );
      if (!jobs.length) list.replaceChildren(element("li", {}, "No jobs yet."));
    } catch (error) {
      this.say(explain(error), true);
      if (error.status === "token" || error.status === 401) askForToken(this.root);
    }
  }
}

// The spec of a parameter, without its `null` alternative; and whether it may be null.
function unwrap(spec) {
  const options = spec.anyOf ?? [spec];
  const concrete = options.find((option) => option.type !== "null") ?? {};
  return { ...spec, ...concrete, nullable: options.some((option) => option.type === "null") };
}

function paramField(name, rawSpec) {
  const spec = unwrap(rawSpec);
  const id = `param-${name}`;
  const hint = spec.description ? element("small", { id: `${id}-help` }, spec.description) : null;
  let input;
  if (spec.enum) {
    input = element("select", { name: id, id }, ...spec.enum.map((value) => element("option", { value }, value)));
    input.value = spec.default;
  } else if (spec.type === "boolean") {
    input = element("input", { type: "checkbox", name: id, id, checked: Boolean(spec.default) });
  } else if (spec.type === "integer" || spec.type === "number") {
    input = element("input", { type: "number", name: id, id, step: spec.type === "integer" ? "1" : "any" });
    if (spec.minimum !== undefined) input.min = spec.minimum;
    if (spec.maximum !== undefined) input.max = spec.maximum;
    if (spec.default !== null && spec.default !== undefined) input.value = spec.default;
    if (spec.nullable) input.placeholder = "unset";
  } else {
    input = element("input", { type: "text", name: id, id, value: spec.default ?? "" });
  }
  if (hint) input.setAttribute("aria-describedby", hint.id);
  const label = element("label", { htmlFor: id }, spec.title ?? name);
  return element("div", { className: spec.type === "boolean" ? "param check" : "param" }, label, input, ...(hint ? [hint] : []));
}

function readParam(input, rawSpec) {
  const spec = unwrap(rawSpec);
  if (spec.type === "boolean") return input.checked;
  if (spec.enum) return input.value;
  if (spec.type === "integer" || spec.type === "number") {
    if (input.value === "") return spec.nullable ? null : undefined;
    return Number(input.value);
  }
  return input.value;
}

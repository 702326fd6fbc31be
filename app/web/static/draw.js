// The Draw view: two pads, and what the models make of them, refreshed as you draw.

import { call, explain, modelLabel, upload } from "./api.js";
import { Pad } from "./pad.js";

const DEBOUNCE_MS = 300;

export class DrawView {
  constructor(root) {
    this.root = root;
    this.pads = {};
    for (const element of root.querySelectorAll(".pad")) {
      const pad = new Pad(element);
      pad.addEventListener("change", () => this.schedule());
      this.pads[element.dataset.pad] = pad;
    }
    this.status = root.querySelector("#draw-status");
    this.timer = null;
    this.round = null; // the AbortController of the answers being fetched
    this.urls = new Map(); // img element -> its blob: URL, revoked when replaced
    root.querySelector("#generate-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.generate(new FormData(event.target));
    });
    this.say("Draw a digit or a number on a pad, or drop an image file on it.");
  }

  show() {
    this.schedule(); // models may have changed meanwhile
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.update(), DEBOUNCE_MS);
  }

  say(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }

  out(scope, name) {
    return this.root.querySelector(`${scope} [data-out="${name}"]`);
  }

  async update() {
    this.round?.abort();
    const round = new AbortController();
    this.round = round;
    const blobs = {};
    for (const [key, pad] of Object.entries(this.pads)) blobs[key] = await pad.blob();
    if (round.signal.aborted) return;
    this.root.classList.add("busy");
    const work = Object.entries(blobs).map(([key, blob]) => this.single(key, blob, round.signal));
    work.push(this.pair(blobs.a, blobs.b, round.signal));
    if (!blobs.a && !blobs.b) {
      this.say("Draw a digit or a number on a pad, or drop an image file on it.");
    } else {
      this.say("");
    }
    await Promise.all(work);
    if (this.round === round) this.root.classList.remove("busy");
  }

  // Every answer about one pad; an empty pad sends nothing and clears them.
  async single(key, blob, signal) {
    const scope = `[data-answer="${key}"]`;
    const pad = this.pads[key];
    if (!blob) {
      this.clearSingle(scope);
      return;
    }
    const failures = [];
    const attempt = async (work) => {
      try {
        await work();
      } catch (error) {
        if (error.name === "AbortError" || signal.aborted) return;
        failures.push(error);
      }
    };
    await Promise.all([
      attempt(async () => {
        const answer = await call("/classify", { method: "POST", form: upload({ image: blob }), signal });
        if (signal.aborted) return;
        this.out(scope, "digit").textContent = String(answer.digit);
        this.out(scope, "digit-model").textContent = modelLabel(answer.model);
        this.bars(this.out(scope, "bars"), answer.probabilities);
      }),
      attempt(async () => {
        const png = await call("/preprocess?scale=4", {
          method: "POST", form: upload({ image: blob }), as: "blob", signal,
        });
        if (!signal.aborted) this.picture(this.out(scope, "received"), png);
      }),
      attempt(async () => {
        const encoded = await call("/encode", { method: "POST", form: upload({ image: blob }), signal });
        const png = await call("/decode?scale=4", {
          method: "POST", json: { latent: encoded.latent }, as: "blob", signal,
        });
        if (signal.aborted) return;
        this.picture(this.out(scope, "reconstruction"), png);
        this.out(scope, "reconstruction-model").textContent = modelLabel(encoded.model);
      }),
      attempt(async () => {
        const reading = await call("/read", { method: "POST", form: upload({ image: blob }), signal });
        if (signal.aborted) return;
        this.out(scope, "number").textContent = reading.value;
        this.out(scope, "number-model").textContent = modelLabel(reading.model);
        await this.boxes(this.out(scope, "reading"), blob, reading.digits);
      }),
    ]);
    if (signal.aborted) return;
    if (failures.length) {
      this.clearSingle(scope);
      pad.say(explain(failures[0]));
      pad.status.classList.add("error");
    } else {
      pad.status.classList.remove("error");
      if (!pad.file) pad.say("");
    }
  }

  clearSingle(scope) {
    for (const name of ["digit", "number"]) this.out(scope, name).textContent = "–";
    for (const name of ["digit-model", "number-model", "reconstruction-model"]) {
      this.out(scope, name).textContent = "";
    }
    this.out(scope, "bars").replaceChildren();
    for (const name of ["received", "reconstruction"]) this.picture(this.out(scope, name), null);
    const reading = this.out(scope, "reading");
    reading.getContext("2d").clearRect(0, 0, reading.width, reading.height);
  }

  // The sum, product and comparison of the two pads, and the VAE's walk between them.
  async pair(a, b, signal) {
    const scope = ".pair";
    const outputs = { add: "+", multiply: "×" };
    if (!a || !b) {
      for (const name of ["add", "multiply", "compare"]) this.out(scope, name).textContent = "–";
      this.out(scope, "interpolation-model").textContent = "";
      this.picture(this.out(scope, "interpolation"), null);
      return;
    }
    const shown = (name, text) => {
      if (!signal.aborted) this.out(scope, name).textContent = text;
    };
    const failed = (name) => (error) => {
      if (error.name !== "AbortError" && !signal.aborted) shown(name, explain(error));
    };
    const jobs = Object.keys(outputs).map((name) =>
      call(`/${name}`, { method: "POST", form: upload({ a, b }), signal })
        .then((answer) => {
          const readings = answer.a && answer.b ? `${answer.a.value} ${outputs[name]} ${answer.b.value} = ` : "";
          shown(name, `${readings}${answer.result_text} (p=${answer.confidence.toFixed(3)}, ${modelLabel(answer.model)})`);
        })
        .catch(failed(name)),
    );
    jobs.push(
      call("/compare", { method: "POST", form: upload({ a, b }), signal })
        .then((answer) => {
          shown("compare", `${answer.result ? "yes" : "no"} (p=${answer.probability.toPrecision(3)}, ${modelLabel(answer.model)})`);
        })
        .catch(failed("compare")),
      call("/interpolate?steps=8&scale=2", { method: "POST", form: upload({ a, b }), as: "blob", signal })
        .then((png) => {
          if (signal.aborted) return;
          this.picture(this.out(scope, "interpolation"), png);
          this.out(scope, "interpolation-model").textContent = "(vae)";
        })
        .catch(failed("interpolation-model")),
    );
    await Promise.all(jobs);
  }

  async generate(form) {
    const status = this.root.querySelector("#generate-status");
    const body = { count: 16, seed: Number(form.get("seed")), temperature: Number(form.get("temperature")) };
    try {
      const png = await call("/generate?scale=3", { method: "POST", json: body, as: "blob" });
      this.picture(this.root.querySelector("#samples"), png);
      status.textContent = `16 digits from seed ${body.seed}`;
      status.classList.remove("error");
      this.root.querySelector('#generate-form [name="seed"]').value = body.seed + 1;
    } catch (error) {
      status.textContent = explain(error);
      status.classList.add("error");
    }
  }

  bars(list, probabilities) {
    const best = probabilities.indexOf(Math.max(...probabilities));
    list.replaceChildren(
      ...probabilities.map((p, digit) => {
        const item = document.createElement("li");
        item.className = digit === best ? "best" : "";
        item.setAttribute("aria-label", `${digit}: ${(p * 100).toFixed(1)}%`);
        const label = document.createElement("span");
        label.textContent = String(digit);
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.setProperty("--p", p.toFixed(4));
        item.append(label, bar);
        return item;
      }),
    );
  }

  picture(img, blob) {
    const old = this.urls.get(img);
    if (old) URL.revokeObjectURL(old);
    if (!blob) {
      this.urls.delete(img);
      img.removeAttribute("src");
      return;
    }
    const url = URL.createObjectURL(blob);
    this.urls.set(img, url);
    img.src = url;
  }

  // The pad's image with a box around each digit the reader found (in the image's pixels).
  async boxes(canvas, blob, digits) {
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob);
    } catch {
      return; // the browser cannot draw it; the number is still shown
    }
    const fit = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
    context.drawImage(bitmap, 0, 0, bitmap.width * fit, bitmap.height * fit);
    context.strokeStyle = "#d4380d";
    context.fillStyle = "#d4380d";
    context.lineWidth = 2;
    context.font = "bold 14px sans-serif";
    for (const digit of digits) {
      const { x, y, width, height } = digit.box;
      context.strokeRect(x * fit, y * fit, width * fit, height * fit);
      context.fillText(String(digit.value), x * fit + 2, Math.max(12, y * fit - 2));
    }
    canvas.setAttribute("aria-label", `The reader found ${digits.map((d) => d.value).join(" ")}`);
  }
}

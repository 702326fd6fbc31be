// A drawing pad: strokes from a mouse, finger or pen, or an image file dropped on it or
// opened with its file input; undo and clear. It fires "change" whenever it does.

const INK = "#000";
const PAPER = "#fff";

export class Pad extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.canvas = root.querySelector("canvas");
    this.context = this.canvas.getContext("2d");
    this.status = root.querySelector(".pad-status");
    this.strokes = [];
    this.file = null; // a dropped or opened file, sent as it is while nothing is drawn over it
    this.picture = null; // the file decoded, when the browser can
    this.drawing = null;
    this.listen();
    this.render();
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      canvas.setPointerCapture(event.pointerId);
      this.drawing = [this.point(event)];
      this.strokes.push(this.drawing);
      this.render();
      this.changed();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!this.drawing) return;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      for (const each of events.length ? events : [event]) this.drawing.push(this.point(each));
      this.render();
      this.changed();
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = null;
      this.changed();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    this.root.addEventListener("dragover", (event) => {
      event.preventDefault();
      this.root.classList.add("dropping");
    });
    this.root.addEventListener("dragleave", () => this.root.classList.remove("dropping"));
    this.root.addEventListener("drop", (event) => {
      event.preventDefault();
      this.root.classList.remove("dropping");
      const file = event.dataTransfer?.files?.[0];
      if (file) this.setFile(file);
    });
    this.root.querySelector('[data-action="undo"]').addEventListener("click", () => this.undo());
    this.root.querySelector('[data-action="clear"]').addEventListener("click", () => this.clear());
    const input = this.root.querySelector('[data-action="file"]');
    input.addEventListener("change", () => {
      if (input.files[0]) this.setFile(input.files[0]);
      input.value = "";
    });
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * this.canvas.width) / box.width,
      y: ((event.clientY - box.top) * this.canvas.height) / box.height,
    };
  }

  async setFile(file) {
    this.strokes = [];
    this.file = file;
    this.picture = null;
    try {
      this.picture = await createImageBitmap(file);
      this.say(`${file.name}`);
    } catch {
      this.say(`${file.name}: the browser cannot show it; the API will say what it makes of it`);
    }
    this.render();
    this.changed();
  }

  undo() {
    if (this.strokes.length) this.strokes.pop();
    else this.file = this.picture = null;
    this.render();
    this.changed();
  }

  clear() {
    this.strokes = [];
    this.file = this.picture = null;
    this.say("");
    this.render();
    this.changed();
  }

  isEmpty() {
    return !this.strokes.length && !this.file;
  }

  // What to send: the file as it came while nothing is drawn over it, else the canvas as a PNG.
  async blob() {
    if (this.isEmpty()) return null;
    if (!this.strokes.length) return this.file;
    return new Promise((resolve) => this.canvas.toBlob(resolve, "image/png"));
  }

  say(text) {
    this.status.textContent = text;
  }

  render() {
    const { context, canvas } = this;
    context.fillStyle = PAPER;
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (this.picture) {
      const fit = Math.min(canvas.width / this.picture.width, canvas.height / this.picture.height);
      const width = this.picture.width * fit;
      const height = this.picture.height * fit;
      context.drawImage(this.picture, (canvas.width - width) / 2, (canvas.height - height) / 2, width, height);
    }
    context.strokeStyle = INK;
    context.fillStyle = INK;
    context.lineWidth = canvas.height * 0.07;
    context.lineCap = "round";
    context.lineJoin = "round";
    for (const stroke of this.strokes) {
      context.beginPath();
      context.moveTo(stroke[0].x, stroke[0].y);
      if (stroke.length === 1) context.lineTo(stroke[0].x + 0.1, stroke[0].y);
      for (const point of stroke.slice(1)) context.lineTo(point.x, point.y);
      context.stroke();
    }
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}

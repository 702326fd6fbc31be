// A loss curve on a canvas: each *loss key of a job's history, per epoch.

const COLOURS = ["#1d4ed8", "#d4380d", "#15803d", "#7c3aed"];

export function drawCurves(canvas, history) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const keys = [...new Set(history.flatMap((entry) => Object.keys(entry)))].filter((key) => key.endsWith("loss"));
  const values = history.flatMap((entry) => keys.map((key) => entry[key]).filter(Number.isFinite));
  // the legend has a row of its own above the frame, where no curve can run under it
  const margin = { left: 48, right: 12, top: 26, bottom: 28 };
  context.strokeStyle = "#888";
  context.fillStyle = "#333";
  context.font = "12px sans-serif";
  context.strokeRect(margin.left, margin.top, width - margin.left - margin.right, height - margin.top - margin.bottom);
  if (!values.length) {
    context.fillText("The loss appears here after each epoch.", margin.left + 8, height / 2);
    canvas.setAttribute("aria-label", "Loss per epoch: no epoch finished yet");
    return;
  }
  const low = Math.min(0, ...values);
  const high = Math.max(...values) || 1;
  const epochs = Math.max(2, history.length);
  const x = (index) => margin.left + (index / (epochs - 1)) * (width - margin.left - margin.right);
  const y = (value) => margin.top + (1 - (value - low) / (high - low)) * (height - margin.top - margin.bottom);
  context.fillText(high.toPrecision(3), 4, margin.top + 10);
  context.fillText(low.toPrecision(3), 4, height - margin.bottom);
  context.fillText("epoch", width / 2, height - 8);
  keys.forEach((key, k) => {
    context.strokeStyle = context.fillStyle = COLOURS[k % COLOURS.length];
    context.lineWidth = 2;
    context.beginPath();
    history.forEach((entry, index) => {
      if (!Number.isFinite(entry[key])) return;
      const method = index === 0 ? "moveTo" : "lineTo";
      context[method](x(index), y(entry[key]));
      context.fillRect(x(index) - 2, y(entry[key]) - 2, 4, 4);
    });
    context.stroke();
    const left = margin.left + 110 * k;
    context.fillRect(left, 12, 14, 3);
    context.fillText(key, left + 18, 17);
  });
  const last = history.at(-1);
  canvas.setAttribute(
    "aria-label",
    `Loss per epoch, ${history.length} epochs; last: ${keys.map((key) => `${key} ${Number(last[key]).toPrecision(3)}`).join(", ")}`,
  );
}

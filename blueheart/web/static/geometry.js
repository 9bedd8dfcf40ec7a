// Where the emblem sits, the way blueheart's placement.py puts it for `at`: pure functions over
// the output's pixels, so the heart on the page is where the server will draw it.

const CIRCLE_SAFETY_PX = 1.5; // placement.CIRCLE_SAFETY_PX
const BISECTION_STEPS = 40;

/** A length option as text ("0.25" of the shorter side, or "200px") in px. */
export function lengthPx(text, shorter) {
  const value = String(text).trim().toLowerCase();
  return value.endsWith("px") ? parseFloat(value) : parseFloat(value) * shorter;
}

/** The emblem's [width, height] px for a longer side of `sidePx` (placement.emblem_extent). */
export function emblemExtent(sidePx, aspect) {
  const side = Math.max(1, Math.round(sidePx));
  return aspect >= 1
    ? [side, Math.max(1, Math.round(side / aspect))]
    : [Math.max(1, Math.round(side * aspect)), side];
}

/**
 * The emblem's box {left, top, width, height} (px) on a canvas of [width, height] px, its
 * centre wanted at `at` (fractions): with `circleSafe`, moved toward the centre until every
 * point of `outline` (fractions of the box) is inside the circle inscribed in the canvas,
 * inset by `margin` px; then kept on the canvas. The box is in whole px, as the server
 * rounds it; `centre` is its centre before rounding. Null when it cannot fit.
 */
export function placeAt(canvas, extent, at, { margin, circleSafe, outline }) {
  const [width, height] = canvas;
  const [boxW, boxH] = extent;
  if (boxW > width || boxH > height) return null;
  let centre = [at[0] * width, at[1] * height];
  if (circleSafe) {
    const radius = Math.min(width, height) / 2 - margin - CIRCLE_SAFETY_PX;
    const points = outline.map(([x, y]) => [(x - 0.5) * boxW, (y - 0.5) * boxH]);
    const fits = (dx, dy) => points.every(([x, y]) => Math.hypot(x + dx, y + dy) <= radius);
    if (!fits(0, 0)) return null;
    const wanted = [centre[0] - width / 2, centre[1] - height / 2];
    const reach = Math.hypot(...wanted);
    const heading = reach ? [wanted[0] / reach, wanted[1] / reach] : [0, 0];
    const distance = largestFitting((t) => fits(t * heading[0], t * heading[1]), reach);
    centre = [width / 2 + distance * heading[0], height / 2 + distance * heading[1]];
  }
  // The centre is kept unrounded: twenty key presses add up to twenty steps.
  centre = [clamp(centre[0], boxW / 2, width - boxW / 2), clamp(centre[1], boxH / 2, height - boxH / 2)];
  const left = clamp(Math.round(centre[0] - boxW / 2), 0, width - boxW);
  const top = clamp(Math.round(centre[1] - boxH / 2), 0, height - boxH);
  return { left, top, width: boxW, height: boxH, centre };
}

/** The box's centre as fractions of the canvas: what `at=` asks the server for. */
export function centreOf(box, canvas) {
  return [box.centre[0] / canvas[0], box.centre[1] / canvas[1]];
}

function largestFitting(fits, upper) {
  if (fits(upper)) return upper;
  let low = 0;
  let high = upper;
  for (let step = 0; step < BISECTION_STEPS; step += 1) {
    const middle = (low + high) / 2;
    if (fits(middle)) low = middle;
    else high = middle;
  }
  return low;
}

export function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

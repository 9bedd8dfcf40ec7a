// The campaign page: pick a photo, see it as the platforms will, move the heart, download.
// The server keeps no state: every request carries the photo and the options.

import { ApiError, getCampaign, postPhoto } from "./api.js";
import { centreOf, clamp, emblemExtent, lengthPx, placeAt } from "./geometry.js";
import { t, translate, useLanguage } from "./i18n.js";

const SIZE_RANGE = [0.05, 0.6]; // the slider's range, fractions of the shorter side
const STEP = 0.01; // an arrow key's move, and a +/- resize, as a fraction of the shorter side
const BIG_STEP = 0.05; // with Shift
const MB = 1_000_000;
const DEFAULT_HASHTAG = "#BlueHeart";
const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const ANNOUNCE_AFTER_MS = 400; // keyboard moves are said once the keys rest, not on each repeat
// The server's error codes (README, "The HTTP API") and the page's own, as catalogue keys.
const ERROR_KEYS = {
  network: "error-network",
  "too-large": "error-too-big",
  "too-many-pixels": "error-too-many-pixels",
  "not-a-photo": "error-not-photo",
  unreadable: "error-unreadable",
  "too-small": "error-too-small",
  stalled: "error-stalled",
  busy: "error-busy",
  "bad-option": "error-option",
  "share-failed": "error-share",
};
const RETRIED = ["network", "stalled", "busy"]; // failures that may pass on a second try

const $ = (id) => document.getElementById(id);
const ui = Object.fromEntries(
  [
    "photo", "camera", "drop", "empty", "frame", "preview", "mask", "emblem", "emblem-picture",
    "emblem-help", "busy", "busy-text", "error", "status", "size", "size-value", "style", "crop", "mask-toggle",
    "auto", "download", "share", "done", "copy-text", "campaign-text", "link", "language", "title",
    "message",
  ].map((id) => [id.replace(/-(\w)/g, (_, letter) => letter.toUpperCase()), $(id)]),
);

const state = {
  campaign: null,
  language: "en",
  file: null, // the chosen photo, sent again with each request
  canvas: null, // the output's [width, height] px
  box: null, // the emblem's box on the output, px
  size: 0.25, // the emblem's longer side, a fraction of the output's shorter side
  sizeChosen: false, // sent only once the person has changed it
  rendered: null, // the last download: { query, blob, name }
  grab: null, // while dragging: the pointer's offset from the emblem's centre, px
  at: null, // where the person put the emblem's centre (fractions); null: where the server puts it
  auto: false, // "Place automatically" asked: the server's position=auto until the person moves it
  maskChosen: false, // the person set "Show as a round avatar": a Shape no longer sets it
  announcing: null, // the timer of the next keyboard move's announcement
  previewUrl: null,
};

// -- options ---------------------------------------------------------------------------------

const locked = (name) => state.campaign.locked.includes(name);
const canMove = () => !locked("at") && !locked("position");
const custom = () => "custom" in state.campaign.emblems;
const chosen = (fieldset) => fieldset.querySelector("input:checked").value;
const emblem = () => state.campaign.emblems[custom() ? "custom" : chosen(ui.style)];
const shorter = () => Math.min(...state.canvas);

function optionParams({ withPlace }) {
  const params = new URLSearchParams();
  if (!locked("crop")) params.set("crop", chosen(ui.crop));
  if (!locked("style") && !custom()) params.set("style", chosen(ui.style));
  if (!locked("size") && state.sizeChosen) params.set("size", state.size.toFixed(4));
  if (withPlace && canMove()) {
    params.set("at", centreOf(state.box, state.canvas).map((v) => v.toFixed(6)).join(","));
    // `at` is where the centre goes: an offset of the preset must not move it again.
    if (!locked("offset")) params.set("offset", "0,0");
  } else if (state.auto && !locked("position")) {
    params.set("position", "auto"); // the command line's rule: the quietest corner or edge
  }
  return params;
}

function circleSafe() {
  const setting = state.campaign.defaults.circle_safe;
  return setting === "auto" ? state.canvas[0] === state.canvas[1] : setting === "true";
}

// -- the emblem on the preview ---------------------------------------------------------------

/** Put the emblem's centre at `at` (fractions) as the server would; false if it cannot fit. */
function placeEmblem(at) {
  const extent = emblemExtent(state.size * shorter(), emblem().aspect);
  const box = placeAt(state.canvas, extent, at, {
    margin: lengthPx(state.campaign.defaults.margin, shorter()),
    circleSafe: circleSafe(),
    outline: emblem().outline,
  });
  if (!box) return false;
  state.box = box;
  state.rendered = null;
  const [width, height] = state.canvas;
  const percent = (value) => `${(value * 100).toFixed(4)}%`;
  Object.assign(ui.emblem.style, {
    left: percent(box.left / width),
    top: percent(box.top / height),
    width: percent(box.width / width),
    height: percent(box.height / height),
  });
  return true;
}

function setSize(fraction) {
  const previous = state.size;
  state.size = clamp(fraction, ...SIZE_RANGE);
  state.sizeChosen = true;
  if (state.box && !placeEmblem(centreOf(state.box, state.canvas))) state.size = previous;
  showSize();
}

function showSize() {
  ui.size.value = Math.round(state.size * 100);
  ui.sizeValue.textContent = `${ui.size.value}%`;
}

function pointerAt(event) {
  const rect = ui.frame.getBoundingClientRect();
  return [
    ((event.clientX - rect.left) / rect.width) * state.canvas[0],
    ((event.clientY - rect.top) / rect.height) * state.canvas[1],
  ];
}

/** Put the emblem where the person asks: kept through a new preview, a Shape or a Size. */
function moveTo(at) {
  if (!placeEmblem(at)) return;
  state.at = centreOf(state.box, state.canvas);
  state.auto = false;
}

function dragTo(point) {
  const [width, height] = state.canvas;
  moveTo([(point[0] - state.grab[0]) / width, (point[1] - state.grab[1]) / height]);
}

function startDrag(event) {
  if (!state.box || !canMove() || event.button > 0) return;
  event.preventDefault();
  const point = pointerAt(event);
  const [x, y] = centreOf(state.box, state.canvas);
  const onEmblem = ui.emblem.contains(event.target);
  // Grabbed by its edge, the emblem does not jump; a tap elsewhere brings it there.
  state.grab = onEmblem ? [point[0] - x * state.canvas[0], point[1] - y * state.canvas[1]] : [0, 0];
  ui.frame.setPointerCapture(event.pointerId);
  dragTo(point);
}

function onEmblemKey(event) {
  const step = (event.shiftKey ? BIG_STEP : STEP);
  if (event.key in MOVES && canMove()) {
    const [x, y] = centreOf(state.box, state.canvas);
    const [dx, dy] = MOVES[event.key];
    const side = shorter();
    moveTo([x + (dx * step * side) / state.canvas[0], y + (dy * step * side) / state.canvas[1]]);
  } else if (["+", "="].includes(event.key) && !locked("size")) {
    setSize(state.size + step);
  } else if (["-", "_", "−"].includes(event.key) && !locked("size")) {
    setSize(state.size - step);
  } else {
    return;
  }
  event.preventDefault();
  announceSoon();
}

/** Say where the emblem is once the keys rest: a held arrow key repeats many times a second. */
function announceSoon() {
  clearTimeout(state.announcing);
  state.announcing = setTimeout(() => {
    const [x, y] = centreOf(state.box, state.canvas);
    const percent = new Intl.NumberFormat(state.language, { maximumFractionDigits: 0 });
    const [left, top, size] = [x, y, state.size].map((value) => percent.format(value * 100));
    say(t("emblem-moved", { x: left, y: top, size }));
  }, ANNOUNCE_AFTER_MS);
}

// -- talking to the server -------------------------------------------------------------------

function say(text) {
  ui.status.textContent = text;
}

/** Say `text` on the page too, under the buttons: what a finished action did. */
function tell(text) {
  ui.done.textContent = text;
  ui.done.hidden = false;
  say(text);
}

function clearError() {
  ui.error.hidden = true;
  ui.error.replaceChildren();
  ui.done.hidden = true;
}

/** The error in the page's language, from its code; the server's English line is for the log. */
function errorText(error) {
  const code = error instanceof ApiError ? error.code : "";
  const { limits } = state.campaign ?? { limits: {} };
  return t(ERROR_KEYS[code] ?? "error-other", {
    limit: code === "too-many-pixels" ? limits.max_pixels / MB : limits.max_upload / MB,
  });
}

function showError(error, retry) {
  console.warn("blueheart:", error instanceof ApiError ? `${error.code}: ${error.message}` : error);
  const message = document.createElement("strong");
  message.textContent = errorText(error);
  const parts = [message];
  if (retry && (!(error instanceof ApiError) || RETRIED.includes(error.code))) {
    const again = document.createElement("button");
    again.type = "button";
    again.className = "button";
    again.textContent = t("try-again");
    again.addEventListener("click", retry);
    parts.push(" ", again);
  }
  ui.error.replaceChildren(...parts);
  ui.error.hidden = false;
  // Below a tall photo the box may be out of sight: shown and focused, it is seen and heard.
  ui.error.focus({ preventScroll: true });
  ui.error.scrollIntoView({ block: "nearest" });
}

/** Do `work` with the busy sign up and everything that needs a photo off; errors shown. */
async function run(work, busyText) {
  clearError();
  ui.busyText.textContent = busyText;
  ui.busy.hidden = false;
  ui.drop.setAttribute("aria-busy", "true");
  setReady(false);
  setPageState("working");
  let failed = false;
  try {
    return await work();
  } catch (error) {
    failed = true;
    showError(error, () => run(work, busyText));
    return undefined;
  } finally {
    ui.busy.hidden = true;
    ui.drop.setAttribute("aria-busy", "false");
    setReady(Boolean(state.box));
    setPageState(failed ? "error" : state.box ? "ready" : "empty");
  }
}

/** body[data-state]: empty, working, ready or error, for people's scripts and our tests. */
function setPageState(name) {
  document.body.dataset.state = name;
}

function setReady(ready) {
  for (const control of [ui.download, ui.share]) control.disabled = !ready;
  ui.auto.disabled = !ready || !canMove();
}

async function preview() {
  const answer = await postPhoto("preview", state.file, optionParams({ withPlace: false }));
  const canvas = answer.headers.get("Blueheart-Output-Size").split("x").map(Number);
  const [left, top, right, bottom] = answer.headers.get("Blueheart-Box").split(",").map(Number);
  const url = URL.createObjectURL(await answer.blob());
  ui.preview.src = url;
  await ui.preview.decode().catch(() => {});
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = url;
  state.canvas = canvas;
  if (!state.sizeChosen) {
    state.size = lengthPx(state.campaign.defaults.size, shorter()) / shorter();
    showSize();
  }
  ui.frame.style.setProperty("--aspect", `${canvas[0]} / ${canvas[1]}`);
  ui.frame.hidden = false;
  ui.empty.hidden = true;
  $("choose-label").classList.remove("primary"); // Download is the next step now
  ui.emblemHelp.hidden = !canMove();
  // Where the person put it stays; the server's place is for a first look or "automatically".
  if (!state.at || !placeEmblem(state.at)) placeEmblem([(left + right) / 2, (top + bottom) / 2]);
  say(t("ready"));
}

async function choosePhoto(file) {
  if (!file) return;
  if (file.size > state.campaign.limits.max_upload) {
    showError(new ApiError(413, `${file.size} bytes`, "too-large"));
    setPageState("error");
    return;
  }
  const previous = { file: state.file, at: state.at, auto: state.auto };
  Object.assign(state, { file, at: null, auto: false }); // a new photo: the heart starts afresh
  await run(async () => {
    try {
      await preview();
    } catch (error) {
      Object.assign(state, previous);
      throw error;
    }
  }, t("working"));
}

async function rendered() {
  const params = optionParams({ withPlace: true });
  const query = params.toString();
  if (state.rendered?.query === query) return state.rendered;
  const answer = await postPhoto("badge", state.file, params);
  const disposition = answer.headers.get("Content-Disposition") || "";
  const served = /filename="([^"]+)"/.exec(disposition)?.[1] || "blueheart.jpg";
  state.rendered = { query, blob: await answer.blob(), name: fileName(state.file.name, served) };
  return state.rendered;
}

/** "<stem>-blueheart.<ext>" after the photo, as the command line names it; the extension is
 * the server's (a circle is a PNG). A photo without a usable name gives the server's name. */
function fileName(photoName, served) {
  const stem = (photoName || "")
    .replace(/\.[^.]*$/, "")
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, " ")
    .trim()
    .slice(0, 100);
  return stem ? `${stem}-${served}` : served;
}

async function download() {
  const { blob, name } = await rendered();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  tell(t("saved", { name }));
}

async function share() {
  const { blob, name } = await rendered();
  try {
    await navigator.share({ files: [new File([blob], name, { type: blob.type })], text: shareText() });
  } catch (error) {
    // The person closed the share sheet: nothing went wrong.
    if (error.name === "AbortError") return;
    // The picture took long enough for the browser to forget the tap: one more tap shares it.
    if (error.name === "NotAllowedError") tell(t("share-again"));
    else throw new ApiError(-1, `share: ${error.name}: ${error.message}`, "share-failed");
  }
}

// -- the campaign's texts and the language ---------------------------------------------------

function pageTexts() {
  return { ...state.campaign.page, ...(state.campaign.translations[state.language] || {}) };
}

function shareParts() {
  const texts = pageTexts();
  return [texts.message || t("share-text"), texts.hashtag || DEFAULT_HASHTAG, texts.link].filter(
    Boolean,
  );
}

function shareText() {
  return shareParts().join(" ");
}

/** The campaign text on the page: the message sets its direction (dir=auto skips <bdi>, so an
 * Arabic message is read first, on the right); the hashtag and link are isolated, so that
 * "#BlueHeart" stays so in Arabic. */
function showShareText() {
  const [message, ...rest] = shareParts();
  const isolated = rest.flatMap((part) => {
    const element = document.createElement("bdi");
    element.textContent = part;
    return [" ", element];
  });
  ui.campaignText.replaceChildren(message, ...isolated);
}

async function copyText() {
  const text = shareText();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without a secure context (http:// on a LAN) there is no clipboard API: select and copy.
    const range = document.createRange();
    range.selectNodeContents(ui.campaignText);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    document.execCommand("copy");
  }
  ui.copyText.textContent = t("copied");
  say(t("copied"));
  setTimeout(() => (ui.copyText.textContent = t("copy-text")), 2000);
}

/** The switcher: the languages the server names, each in itself. */
function listLanguages() {
  const options = state.campaign.languages.map(({ code, name, rtl }) => {
    const option = new Option(name, code);
    option.lang = code;
    if (rtl) option.dir = "rtl";
    return option;
  });
  ui.language.replaceChildren(...options);
}

async function setLanguage(code) {
  state.language = code;
  await useLanguage(code);
  const rtl = state.campaign.languages.find((entry) => entry.code === code)?.rtl;
  document.documentElement.lang = code;
  document.documentElement.dir = rtl ? "rtl" : "ltr";
  ui.language.value = code;
  translate(document);
  const texts = pageTexts();
  ui.title.textContent = texts.title || t("title");
  document.title = ui.title.textContent;
  ui.message.textContent = texts.message || t("tagline");
  showShareText();
  ui.done.hidden = true; // said in the language it was said in
  ui.link.hidden = !texts.link;
  if (texts.link) ui.link.href = texts.link;
  if (state.box) say(t("ready"));
}

// -- start -----------------------------------------------------------------------------------

function setUpChoices() {
  const { defaults } = state.campaign;
  for (const [fieldset, name] of [[ui.style, "style"], [ui.crop, "crop"]]) {
    fieldset.querySelector(`input[value="${defaults[name]}"]`).checked = true;
    fieldset.disabled = locked(name);
    fieldset.querySelector(".locked-note").hidden = !locked(name);
  }
  ui.style.hidden = custom();
  ui.size.disabled = locked("size");
  ui.size.parentElement.querySelector(".locked-note").hidden = !locked("size");
  showMaskFor(defaults.crop);
  ui.emblemPicture.src = emblem().url;
  ui.emblem.classList.toggle("fixed", !canMove());
  showSize();
}

/** "Show as a round avatar" follows the Shape until the person sets it. */
function showMaskFor(crop) {
  if (!state.maskChosen) ui.maskToggle.checked = crop !== "none";
  ui.mask.hidden = !ui.maskToggle.checked;
}

async function changeShape() {
  showMaskFor(chosen(ui.crop));
  if (!state.file) return;
  await run(preview, t("working"));
  // On a phone the Shape is below the photo: the new shape is seen without scrolling back.
  ui.frame.scrollIntoView({ block: "nearest" });
}

function placeAutomatically() {
  Object.assign(state, { at: null, auto: true });
  return run(preview, t("working"));
}

function listen() {
  for (const input of [ui.photo, ui.camera]) {
    input.addEventListener("change", () => {
      choosePhoto(input.files[0]);
      input.value = "";
    });
  }
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    ui.drop.classList.add("dragging");
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) ui.drop.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    ui.drop.classList.remove("dragging");
    choosePhoto(event.dataTransfer.files[0]);
  });
  ui.frame.addEventListener("pointerdown", startDrag);
  ui.frame.addEventListener("pointermove", (event) => {
    if (state.grab && ui.frame.hasPointerCapture(event.pointerId)) dragTo(pointerAt(event));
  });
  for (const type of ["pointerup", "pointercancel"]) {
    ui.frame.addEventListener(type, () => (state.grab = null));
  }
  ui.emblem.addEventListener("keydown", onEmblemKey);
  ui.size.addEventListener("input", () => setSize(ui.size.valueAsNumber / 100));
  ui.style.addEventListener("change", () => {
    ui.emblemPicture.src = emblem().url;
    if (state.box) placeEmblem(centreOf(state.box, state.canvas));
  });
  ui.crop.addEventListener("change", changeShape);
  ui.maskToggle.addEventListener("change", () => {
    state.maskChosen = true;
    showMaskFor(chosen(ui.crop));
  });
  ui.auto.addEventListener("click", placeAutomatically);
  ui.download.addEventListener("click", () => run(download, t("rendering")));
  ui.share.addEventListener("click", () => run(share, t("rendering")));
  ui.copyText.addEventListener("click", copyText);
  ui.language.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("lang", ui.language.value);
    history.replaceState(null, "", url);
    setLanguage(ui.language.value);
  });
}

function canShareFiles() {
  const probe = new File([new Blob()], "blueheart.jpg", { type: "image/jpeg" });
  return Boolean(navigator.canShare && navigator.canShare({ files: [probe] }));
}

async function start() {
  try {
    state.campaign = await getCampaign();
  } catch (error) {
    await useLanguage("en");
    showError(error, () => location.reload());
    setPageState("error");
    return;
  }
  listLanguages();
  const codes = state.campaign.languages.map((entry) => entry.code);
  const asked = new URLSearchParams(location.search).get("lang");
  await setLanguage(codes.includes(asked) ? asked : state.campaign.language);
  setUpChoices();
  ui.share.hidden = !canShareFiles();
  setReady(false);
  listen();
  setPageState("empty");
}

start();

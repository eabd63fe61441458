// Upload: pick a file, describe it, choose the edits the transcoder applies, send it straight to
// storage, then follow its transcoding.

import { alertBox, field, formatBytes, h, values } from "../dom.js";
import { uploadVideo } from "../upload.js";
import { captionFormat } from "./captions-panel.js";
import { unfinishedUploadsSection } from "./unfinished-uploads.js";
import { uploadProgress } from "./upload-progress.js";
import { visibilitySelect } from "./visibility.js";

// The API's filters (VideoCreate.filters), in the order the transcoder applies them.
function filterFields() {
  const seconds = (name) => h("input", { name, type: "number", min: 0, max: 86400, step: "any", inputmode: "decimal" });
  const select = (name, options) => h("select", { name }, options.map(([value, label]) => h("option", { value }, label)));
  return h(
    "fieldset",
    { class: "filters" },
    h("legend", {}, "Edits (optional)"),
    h(
      "div",
      { class: "inline" },
      field("Start at (seconds)", seconds("trim_start")),
      field("End at (seconds)", seconds("trim_end"), "Empty: to the end."),
    ),
    h(
      "div",
      { class: "inline" },
      field("Rotate", select("rotate", [["", "No rotation"], ["90", "90° clockwise"], ["180", "180°"], ["270", "90° counter-clockwise"]])),
      field("Flip", select("flip", [["", "No flip"], ["horizontal", "Mirror (left to right)"], ["vertical", "Upside down"]])),
    ),
    h("div", { class: "check" }, h("input", { name: "grayscale", type: "checkbox", id: "grayscale" }), h("label", { for: "grayscale" }, "Black and white")),
  );
}

// One caption track sent with the video (captions-panel.js adds more on the watch page); a file
// chosen makes its language and label required.
function captionFields() {
  const file = h("input", { name: "caption_file", type: "file", accept: ".vtt,.srt,text/vtt,application/x-subrip" });
  const language = h("input", { name: "caption_language", maxlength: 35, autocomplete: "off", spellcheck: false });
  const label = h("input", { name: "caption_label", maxlength: 64 });
  file.addEventListener("change", () => {
    language.required = label.required = file.files.length > 0;
  });
  return h(
    "fieldset",
    { class: "captions-upload" },
    h("legend", {}, "Captions (optional)"),
    field("Caption file", file, "WebVTT (.vtt) or SubRip (.srt); shown once the video is ready."),
    h(
      "div",
      { class: "inline" },
      field("Caption language", language, "A language tag such as en, pt-BR or zh-Hant."),
      field("Caption label", label, "What viewers pick, e.g. English (CC)."),
    ),
  );
}

async function chosenCaption({ caption_file: file, caption_language: language, caption_label: label }) {
  if (!file || !file.name) return null; // FormData holds an empty File when none is chosen
  return { language, label, format: captionFormat(file.name), content: await file.text() };
}

function chosenFilters({ trim_start: start, trim_end: end, rotate, flip, grayscale }) {
  const filters = [];
  if (start || end) filters.push({ type: "trim", start: Number(start || 0), ...(end ? { end: Number(end) } : {}) });
  if (rotate) filters.push({ type: "rotate", degrees: Number(rotate) });
  if (flip) filters.push({ type: "flip", axis: flip });
  if (grayscale) filters.push({ type: "grayscale" });
  return filters;
}

export function render(main) {
  const box = alertBox();
  const progress = uploadProgress("Upload progress");
  const fileInput = h("input", { name: "file", type: "file", accept: "video/*", required: true });

  const form = h(
    "form",
    { class: "card" },
    field("Video file", fileInput),
    field("Title", h("input", { name: "title", required: true, maxlength: 200 })),
    field("Description", h("textarea", { name: "description", rows: 4, maxlength: 5000 }), "Optional."),
    field("Visibility", visibilitySelect()),
    filterFields(),
    captionFields(),
    h(
      "div",
      { class: "check" },
      h("input", { name: "mp4_download", type: "checkbox", id: "mp4-download" }),
      h("label", { for: "mp4-download" }, "Offer an MP4 download to viewers"),
    ),
    box,
    progress.element,
    h("button", { type: "submit" }, "Upload"),
  );

  // The file's name is a starting title, until the user writes one of their own.
  let suggested = "";
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    const title = form.elements.title;
    if (file && (!title.value || title.value === suggested)) {
      suggested = file.name.replace(/\.[^.]+$/, "");
      title.value = suggested;
    }
  });

  // The end of a trim must come after its start; the browser says so at the field.
  const trimEnd = form.elements.trim_end;
  form.addEventListener("input", () => {
    const start = Number(form.elements.trim_start.value || 0);
    const after = !trimEnd.value || Number(trimEnd.value) > start;
    trimEnd.setCustomValidity(after ? "" : "The end must come after the start.");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = values(form);
    const { title, description, visibility } = fields;
    const filters = chosenFilters(fields);
    const file = fileInput.files[0];
    const message = `Uploading ${file.name} (${formatBytes(file.size)})…`;
    const mp4Download = Boolean(fields.mp4_download);
    const upload = async (onProgress) =>
      uploadVideo({ file, title, description, visibility, filters, mp4Download, caption: await chosenCaption(fields) }, onProgress);
    if (!(await progress.run(form, box, message, upload))) {
      unfinished.replaceWith((unfinished = unfinishedUploadsSection())); // an interrupted upload shows there
    }
  });

  let unfinished = unfinishedUploadsSection();
  main.append(h("h1", {}, "Upload a video"), unfinished, form);
}

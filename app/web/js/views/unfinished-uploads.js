// Uploads a reload or a dropped connection interrupted: choose the same file again and only the
// parts storage does not hold yet are sent.

import { alertBox, busy, field, formatBytes, h } from "../dom.js";
import { discardUpload, resumeUpload, unfinishedUploads } from "../upload.js";
import { uploadProgress } from "./upload-progress.js";

function resumeCard(entry) {
  const { name, size, type } = entry.file;
  const box = alertBox();
  const progress = uploadProgress(`Upload progress of ${name}`);
  const fileInput = h("input", { name: "file", type: "file", accept: type || "video/*", required: true });
  const form = h(
    "form",
    { class: "card" },
    h("h3", {}, entry.title || name),
    h("p", {}, `${name} (${formatBytes(size)}) did not finish uploading.`),
    field(`Choose ${name} again`, fileInput, "Your browser cannot reopen the file by itself."),
    box,
    progress.element,
    h("button", { type: "submit" }, `Resume upload of ${name}`),
    " ",
    h("button", { type: "button", class: "secondary", onclick: discard }, "Discard"),
  );

  async function discard() {
    if (!window.confirm(`Discard the upload of ${name}? What was sent is deleted.`)) return;
    await busy(form, box, () => discardUpload(entry));
    form.remove();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await progress.run(form, box, `Resuming ${name}…`, (onProgress) =>
      resumeUpload(entry, fileInput.files[0], onProgress),
    );
  });
  return form;
}

/** A section listing the signed-in user's unfinished uploads; empty (and hidden) when there are none. */
export function unfinishedUploadsSection() {
  const section = h("section", { "aria-labelledby": "unfinished-uploads", hidden: true });
  unfinishedUploads()
    .then((entries) => {
      if (!entries.length) return;
      section.append(h("h2", { id: "unfinished-uploads" }, "Unfinished uploads"), ...entries.map(resumeCard));
      section.hidden = false;
    })
    .catch(() => null); // the list is a convenience: the upload form works without it
  return section;
}

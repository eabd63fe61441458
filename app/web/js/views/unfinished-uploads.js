// Uploads a reload or a dropped connection interrupted: choose the same file again and only the
// parts storage does not hold yet are sent.

import { alertBox, busy, field, formatBytes, h, navigate } from "../dom.js";
import { discardUpload, resumeUpload, unfinishedUploads } from "../upload.js";

function resumeCard(entry) {
  const { name, size, type } = entry.file;
  const box = alertBox();
  const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload progress of ${name}` });
  const status = h("p", { role: "status", class: "status" });
  const progress = h("div", { class: "upload-progress", hidden: true }, bar, status);
  const fileInput = h("input", { name: "file", type: "file", accept: type || "video/*", required: true });
  const form = h(
    "form",
    { class: "card" },
    h("h3", {}, entry.title || name),
    h("p", {}, `${name} (${formatBytes(size)}) did not finish uploading.`),
    field(`Choose ${name} again`, fileInput, "Your browser cannot reopen the file by itself."),
    box,
    progress,
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
    progress.hidden = false;
    status.textContent = `Resuming ${name}…`;
    const videoId = await busy(form, box, () =>
      resumeUpload(entry, fileInput.files[0], (fraction) => {
        bar.value = Math.round(fraction * 100);
        bar.setAttribute("aria-valuetext", `${bar.value}% uploaded`);
      }),
    );
    if (videoId) {
      status.textContent = "Upload complete. Transcoding starts shortly.";
      navigate(`/videos/${encodeURIComponent(videoId)}`);
    } else {
      progress.hidden = true;
    }
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

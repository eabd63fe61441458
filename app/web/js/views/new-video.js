// Upload: pick a file, describe it, send it straight to storage, then follow its transcoding.

import { alertBox, busy, field, formatBytes, h, navigate, values } from "../dom.js";
import { uploadVideo } from "../upload.js";
import { visibilitySelect } from "./visibility.js";

export function render(main) {
  const box = alertBox();
  const bar = h("progress", { max: 100, value: 0, "aria-label": "Upload progress" });
  const status = h("p", { role: "status", class: "status" });
  const progress = h("div", { class: "upload-progress", hidden: true }, bar, status);
  const fileInput = h("input", { name: "file", type: "file", accept: "video/*", required: true });

  const form = h(
    "form",
    { class: "card" },
    field("Video file", fileInput),
    field("Title", h("input", { name: "title", required: true, maxlength: 200 })),
    field("Description", h("textarea", { name: "description", rows: 4, maxlength: 5000 }), "Optional."),
    field("Visibility", visibilitySelect()),
    box,
    progress,
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

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { title, description, visibility } = values(form);
    const file = fileInput.files[0];
    progress.hidden = false;
    status.textContent = `Uploading ${file.name} (${formatBytes(file.size)})…`;
    const videoId = await busy(form, box, () =>
      uploadVideo({ file, title, description, visibility }, (fraction) => {
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

  main.append(h("h1", {}, "Upload a video"), form);
}

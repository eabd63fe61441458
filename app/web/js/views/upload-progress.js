// An upload's progress bar and status line, and the one way the upload page and an unfinished
// upload's card run an upload through them.

import { busy, h, navigate } from "../dom.js";

export function uploadProgress(label) {
  const bar = h("progress", { max: 100, value: 0, "aria-label": label });
  const status = h("p", { role: "status", class: "status" });
  const element = h("div", { class: "upload-progress", hidden: true }, bar, status);
  const report = (fraction) => {
    bar.value = Math.round(fraction * 100);
    bar.setAttribute("aria-valuetext", `${bar.value}% uploaded`);
  };
  return {
    element,
    // Runs upload(onProgress) while the form is busy; a finished upload opens its video's page.
    async run(form, box, message, upload) {
      element.hidden = false;
      status.textContent = message;
      const videoId = await busy(form, box, () => upload(report));
      if (videoId) {
        status.textContent = "Upload complete. Transcoding starts shortly.";
        navigate(`/videos/${encodeURIComponent(videoId)}`);
      } else {
        element.hidden = true;
      }
      return videoId;
    },
  };
}

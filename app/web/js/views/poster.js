// The owner's choice of poster: one of the frames the transcoder picked (none black, none
// blurred), or an image of their own, which the server checks and re-encodes.

import { videos } from "../api.js";
import { alertBox, busy, field, h } from "../dom.js";

// What the API accepts (PosterUpload): a larger picture is scaled down here first.
const UPLOAD_MAX_BYTES = 512 * 1024;
const BOX = { width: 1280, height: 720 };

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

// The file as sent: as it is when small enough, else drawn into the poster's box as a JPEG.
async function imageBytes(file) {
  if (file.size <= UPLOAD_MAX_BYTES) return file.arrayBuffer();
  const bitmap = await createImageBitmap(file).catch(() => {
    throw new Error("That file is not an image this browser can read.");
  });
  const scale = Math.min(1, BOX.width / bitmap.width, BOX.height / bitmap.height);
  const canvas = h("canvas", { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  return blob.arrayBuffer();
}

/** The owner's poster controls; `onChange(url)` is told the new poster's URL. */
export function posterSection(video, onChange) {
  const box = alertBox();
  const status = h("p", { role: "status", class: "status" });
  const choices = h("div", { class: "poster-choices" });
  const chooseForm = h(
    "form",
    { class: "poster-form" },
    h("fieldset", {}, h("legend", {}, "Choose a poster"), choices),
    h("button", { type: "submit" }, "Use this poster"),
  );
  const fileInput = h("input", { name: "image", type: "file", accept: "image/jpeg,image/png,image/webp" });
  // Stacked, not inline: at a phone's width the file input and its hint need the whole line.
  const uploadForm = h(
    "form",
    { class: "poster-form" },
    field("Or upload an image", fileInput, "JPEG, PNG or WebP; shown at up to 1280×720."),
    h("button", { type: "submit" }, "Upload poster"),
  );

  const show = (poster) => {
    choices.replaceChildren(
      ...poster.candidates.map((url, index) => {
        const id = `poster-candidate-${index}`;
        return h(
          "div",
          { class: "poster-choice" },
          h("input", { type: "radio", name: "candidate", value: String(index), id, checked: poster.chosen === index }),
          h("label", { for: id }, h("img", { src: url, alt: `Frame ${index + 1}`, width: 160, height: 90 })),
        );
      }),
    );
    chooseForm.hidden = !poster.candidates.length;
  };
  const saved = (poster, message) => {
    show(poster);
    status.textContent = message;
    onChange(poster.thumbnail_url);
  };

  chooseForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const picked = chooseForm.querySelector("input[name=candidate]:checked");
    if (!picked) {
      box.show(new Error("Pick one of the frames first."));
      return;
    }
    const poster = await busy(chooseForm, box, () => videos.choosePoster(video.id, Number(picked.value)));
    if (poster) saved(poster, "Poster saved.");
  });
  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const file = fileInput.files[0];
    if (!file) {
      box.show(new Error("Choose an image file first."));
      return;
    }
    const poster = await busy(uploadForm, box, async () => videos.uploadPoster(video.id, base64(await imageBytes(file))));
    if (poster) {
      uploadForm.reset();
      saved(poster, "Your image is the poster now.");
    }
  });

  chooseForm.hidden = true;
  videos
    .poster(video.id)
    .then(show)
    .catch((error) => box.show(error));
  return h("section", { class: "card poster", "aria-labelledby": "poster-heading" }, h("h2", { id: "poster-heading" }, "Poster"), chooseForm, uploadForm, status, box);
}

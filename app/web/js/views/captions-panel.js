// The owner's caption tracks of a ready video: one per language, from a WebVTT or SRT file;
// each change is published in the video's playlist at once, so the player is loaded again.

import { captions } from "../api.js";
import { alertBox, busy, field, formatBytes, h, replace, values, whileDisabled } from "../dom.js";

/** `vtt` or `srt` by the file's name; WebVTT unless it says SubRip. */
export function captionFormat(fileName) {
  return /\.srt$/i.test(fileName) ? "srt" : "vtt";
}

export function captionsPanel(video, onChange) {
  const box = alertBox();
  const status = h("p", { role: "status", class: "status" });
  const list = h("ul", { class: "captions" });
  const limits = h("small", { class: "hint", id: `captions-limits-${video.id}` }, "WebVTT (.vtt) or SubRip (.srt).");
  const file = h("input", {
    type: "file",
    name: "file",
    required: true,
    accept: ".vtt,.srt,text/vtt,application/x-subrip",
    "aria-describedby": limits.id,
  });
  const form = h(
    "form",
    { class: "caption-form" },
    field("Caption file", file),
    limits,
    field(
      "Language",
      h("input", { name: "language", required: true, maxlength: 35, autocomplete: "off", spellcheck: false }),
      "A language tag such as en, pt-BR or zh-Hant; a file in a language the video has replaces its track.",
    ),
    field("Label", h("input", { name: "label", required: true, maxlength: 64 }), "What viewers pick, e.g. English (CC)."),
    h("button", { type: "submit" }, "Upload captions"),
  );

  const item = (track) => {
    const remove = h("button", { type: "button", class: "link" }, "Delete");
    remove.addEventListener("click", async () => {
      if (!window.confirm(`Delete the “${track.label}” captions?`)) return;
      box.show(null);
      status.textContent = "";
      try {
        await whileDisabled([remove], () => captions.remove(video.id, track.language));
        await load();
        status.textContent = `“${track.label}” captions deleted.`;
        onChange().catch((error) => box.show(error));
      } catch (error) {
        box.show(error);
      }
    });
    return h("li", { lang: track.language }, h("strong", {}, track.label), ` (${track.language}, ${track.cue_count} cues) `, remove);
  };

  async function load() {
    const listed = await captions.list(video.id);
    limits.textContent = `WebVTT (.vtt) or SubRip (.srt), up to ${formatBytes(listed.max_bytes)}; at most ${listed.max_tracks} languages.`;
    replace(list, listed.items.length ? listed.items.map(item) : h("li", {}, "No captions yet."));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const { language, label } = values(form); // before busy(): disabled controls drop out of FormData
    const chosen = file.files[0];
    const saved = await busy(form, box, async () => {
      const content = await chosen.text();
      return captions.put(video.id, language, { label, format: captionFormat(chosen.name), content });
    });
    if (!saved) return;
    form.reset();
    await load().catch((error) => box.show(error));
    status.textContent = `“${saved.label}” captions saved.`;
    onChange().catch((error) => box.show(error));
  });

  load().catch((error) => box.show(error));
  return h(
    "section",
    { class: "card", "aria-labelledby": `captions-heading-${video.id}` },
    h("h2", { id: `captions-heading-${video.id}` }, "Caption tracks"),
    list,
    form,
    status,
    box,
  );
}

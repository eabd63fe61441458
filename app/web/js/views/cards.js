// A video in a list: thumbnail, title linking to its page, and a line of facts.

import { formatDate, formatDuration, h } from "../dom.js";

export const STATUS_TEXT = {
  uploading: "Waiting for upload",
  queued: "Queued for transcoding",
  transcoding: "Transcoding",
  ready: "Ready",
  failed: "Failed",
};

export function videoCard(video, ...extra) {
  const href = `#/videos/${encodeURIComponent(video.id)}`;
  const thumb = video.thumbnail_url
    ? h("img", { src: video.thumbnail_url, alt: "", loading: "lazy", width: 320, height: 180 })
    : h("div", { class: "placeholder" }, video.status === "ready" ? "No preview" : STATUS_TEXT[video.status]);
  return h(
    "li",
    { class: "video-card" },
    h("a", { href, class: "thumb", tabindex: "-1", "aria-hidden": "true" }, thumb),
    h("h2", {}, h("a", { href }, video.title)),
    h(
      "p",
      { class: "meta" },
      [formatDuration(video.duration_seconds), formatDate(video.created_at), video.status !== "ready" ? STATUS_TEXT[video.status] : ""]
        .filter(Boolean)
        .join(" · "),
    ),
    extra,
  );
}

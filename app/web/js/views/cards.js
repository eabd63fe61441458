// A video in a list: thumbnail, title linking to its page, a line of facts, and its tags.

import { alertBox, formatDate, formatDuration, h } from "../dom.js";

export const STATUS_TEXT = {
  uploading: "Waiting for upload",
  queued: "Queued for transcoding",
  transcoding: "Transcoding",
  ready: "Ready",
  failed: "Failed",
};

export function formatViews(views) {
  return `${Number(views || 0).toLocaleString()} ${views === 1 ? "view" : "views"}`;
}

/** The video's tags, each a link to its tag page; nothing for a video without tags. */
export function tagList(video) {
  if (!video.tags?.length) return null;
  return h(
    "ul",
    { class: "tags", "aria-label": "Tags" },
    video.tags.map((tag) => h("li", {}, h("a", { href: `#/tags/${encodeURIComponent(tag)}` }, `#${tag}`))),
  );
}

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
      [
        formatDuration(video.duration_seconds),
        video.status === "ready" ? formatViews(video.views) : "",
        formatDate(video.created_at),
        video.status !== "ready" ? STATUS_TEXT[video.status] : "",
      ]
        .filter(Boolean)
        .join(" · "),
    ),
    tagList(video),
    extra,
  );
}

/**
 * A list of video cards that loads one page at a time from `fetchPage(cursor)` ({items,
 * next_cursor}), with "Load more"; `elements` go on the page, `load()` fetches the next page.
 */
export function pagedVideos(fetchPage, emptyText) {
  const box = alertBox();
  const list = h("ul", { class: "video-grid" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const empty = h("p", { hidden: true }, emptyText);
  let cursor = null;

  async function load() {
    more.disabled = true;
    box.show(null);
    const shown = list.children.length;
    try {
      const page = await fetchPage(cursor);
      list.append(...page.items.map((video) => videoCard(video)));
      // Keyboard users continue from the first new video, not from a button that may vanish.
      if (shown) list.children[shown]?.querySelector("h2 a")?.focus();
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = list.children.length > 0;
    } catch (error) {
      box.show(error);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", load);
  return { elements: [box, empty, list, more], load };
}

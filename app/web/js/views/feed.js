// Lists of videos: the feed (newest public videos, title search), a tag's videos, and trending.

import { videos } from "../api.js";
import { field, h, navigate } from "../dom.js";
import { pagedVideos } from "./cards.js";

export function render(main, params) {
  const q = params.get("q") || "";
  const list = pagedVideos((cursor) => videos.feed({ q, cursor }), q ? `No videos match “${q}”.` : "No videos yet.");

  const search = h(
    "form",
    { role: "search", class: "search" },
    field("Search titles", h("input", { name: "q", type: "search", value: q })),
    h("button", { type: "submit" }, "Search"),
  );
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    const term = search.elements.q.value.trim();
    navigate(term ? `/?q=${encodeURIComponent(term)}` : "/");
  });

  main.append(h("h1", {}, q ? `Results for “${q}”` : "Latest videos"), search, ...list.elements);
  return list.load();
}

export function renderTag(main, params, tag) {
  const name = tag.toLowerCase(); // tags are stored lowercase
  const list = pagedVideos((cursor) => videos.tagged(name, { cursor }), `No public videos are tagged #${name} yet.`);
  main.append(h("h1", {}, `Videos tagged #${name}`), ...list.elements);
  return list.load();
}

export function renderTrending(main) {
  // One page, without a cursor: "Load more" never shows.
  const list = pagedVideos(() => videos.trending(), "Nothing has been watched or liked in the last 7 days.");
  main.append(
    h("h1", {}, "Trending"),
    h("p", { class: "hint" }, "The most liked and watched public videos of the last 7 days."),
    ...list.elements,
  );
  return list.load();
}

// The feed: newest public videos, title search, and "load more" by cursor.

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

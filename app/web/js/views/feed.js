// The feed: newest public videos, title search, and "load more" by cursor.

import { videos } from "../api.js";
import { alertBox, field, h, navigate } from "../dom.js";
import { videoCard } from "./cards.js";

export function render(main, params) {
  const q = params.get("q") || "";
  const box = alertBox();
  const list = h("ul", { class: "video-grid" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const empty = h("p", { hidden: true }, q ? `No videos match “${q}”.` : "No videos yet.");
  let cursor = null;

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

  async function load() {
    more.disabled = true;
    box.show(null);
    const shown = list.children.length;
    try {
      const page = await videos.feed({ q, cursor });
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

  main.append(h("h1", {}, q ? `Results for “${q}”` : "Latest videos"), search, box, empty, list, more);
  return load().then(() => undefined);
}

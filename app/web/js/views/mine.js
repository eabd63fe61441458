// The signed-in user's own videos, with their processing status and visibility.

import { videos } from "../api.js";
import { alertBox, formatDate, h } from "../dom.js";
import { STATUS_TEXT } from "./cards.js";

export async function render(main) {
  const box = alertBox();
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const empty = h("p", { hidden: true }, "You have not uploaded anything yet. ", h("a", { href: "#/upload" }, "Upload a video"));
  let cursor = null;

  const row = (video) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, h("a", { href: `#/videos/${encodeURIComponent(video.id)}` }, video.title)),
      h(
        "td",
        { "data-label": "Status" },
        h("span", { class: `badge status-${video.status}` }, STATUS_TEXT[video.status] || video.status),
        video.status === "transcoding" && typeof video.progress === "number" ? ` ${Math.round(video.progress)}%` : null,
        video.hidden_reason ? h("span", { class: "badge hidden-badge", title: video.hidden_reason }, " Hidden by a moderator") : null,
      ),
      h("td", { "data-label": "Visibility" }, video.visibility),
      h("td", { "data-label": "Uploaded" }, formatDate(video.created_at)),
    );

  async function load() {
    more.disabled = true;
    box.show(null);
    const shown = body.children.length;
    try {
      const page = await videos.mine({ cursor });
      body.append(...page.items.map(row));
      if (shown) body.children[shown]?.querySelector("a")?.focus();
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = body.children.length > 0;
    } catch (error) {
      box.show(error);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", load);

  main.append(
    h("h1", {}, "My videos"),
    box,
    empty,
    h(
      "table",
      { class: "table" },
      h("caption", { class: "visually-hidden" }, "Your videos"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Title"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Visibility"), h("th", { scope: "col" }, "Uploaded"))),
      body,
    ),
    more,
  );
  await load();
}

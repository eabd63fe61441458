// Playlists: the user's list with a create form, and one playlist with ordered items that
// can be moved up or down and removed.

import { playlists } from "../api.js";
import { alertBox, busy, field, h, navigate, replace, values } from "../dom.js";

export async function renderList(main) {
  const box = alertBox();
  const list = h("ul", { class: "plain-list" });
  const empty = h("p", {}, "No playlists yet.");
  const listed = new Set();
  // A playlist created before the list's answer arrives is in that answer too: listed once.
  const show = (p) => {
    if (listed.has(p.id)) return;
    listed.add(p.id);
    list.append(
      h("li", {}, h("a", { href: `#/playlists/${encodeURIComponent(p.id)}` }, p.title), h("span", { class: "meta" }, ` · ${p.items.length} ${p.items.length === 1 ? "video" : "videos"}`)),
    );
    empty.hidden = true;
  };

  const form = h(
    "form",
    { class: "inline card" },
    field("New playlist", h("input", { name: "title", required: true, maxlength: 200 })),
    h("button", { type: "submit" }, "Create"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { title } = values(form); // before busy(): disabled controls drop out of FormData
    const created = await busy(form, box, () => playlists.create(title));
    if (created) {
      show(created);
      form.reset();
    }
  });

  main.append(h("h1", {}, "Playlists"), form, box, empty, list);
  const page = await playlists.list();
  page.items.forEach(show);
}

export async function renderOne(main, _params, playlistId) {
  const playlist = await playlists.get(playlistId);
  let items = playlist.items;
  const box = alertBox();
  const status = h("p", { role: "status", class: "status" });
  const list = h("ol", { class: "playlist-items" });

  // Drawing the list anew drops the focus with the old buttons: it goes back to the same
  // action on the item at `index` (another of its actions if that one is off), else the heading.
  const refocus = (index, action) => {
    const buttons = [...(list.children[index]?.querySelectorAll("button") || [])].filter((b) => !b.disabled);
    const target = buttons.find((b) => b.dataset.action === action) || buttons[0] || main.querySelector("h1");
    target?.focus();
  };

  const move = async (index, delta) => {
    const next = [...items];
    const [moved] = next.splice(index, 1);
    next.splice(index + delta, 0, moved);
    box.show(null);
    try {
      const updated = await playlists.reorder(playlistId, next.map((item) => item.id));
      items = updated.items;
      paint();
      refocus(index + delta, delta < 0 ? "up" : "down");
      status.textContent = `Moved “${moved.title}” to position ${index + delta + 1}.`;
    } catch (error) {
      box.show(error);
    }
  };

  const removeItem = async (item, index) => {
    box.show(null);
    try {
      await playlists.removeItem(playlistId, item.id);
      items = items.filter((other) => other !== item);
      paint();
      refocus(Math.min(index, items.length - 1), "remove");
      status.textContent = `Removed “${item.title}”.`;
    } catch (error) {
      box.show(error);
    }
  };

  function paint() {
    replace(
      list,
      items.map((item, index) =>
        h(
          "li",
          {},
          h("a", { href: `#/videos/${encodeURIComponent(item.id)}` }, item.title),
          h(
            "span",
            { class: "item-actions" },
            h("button", { type: "button", class: "secondary", "data-action": "up", disabled: index === 0, "aria-label": `Move “${item.title}” up`, onclick: () => move(index, -1) }, "↑"),
            h("button", { type: "button", class: "secondary", "data-action": "down", disabled: index === items.length - 1, "aria-label": `Move “${item.title}” down`, onclick: () => move(index, 1) }, "↓"),
            h("button", { type: "button", class: "danger", "data-action": "remove", "aria-label": `Remove “${item.title}”`, onclick: () => removeItem(item, index) }, "Remove"),
          ),
        ),
      ),
    );
    if (!items.length) list.append(h("li", { class: "meta" }, "Empty. Add videos from their pages."));
  }
  paint();

  const danger = h("form", { class: "inline" }, h("button", { type: "submit", class: "danger" }, "Delete playlist"));
  danger.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!window.confirm(`Delete the playlist “${playlist.title}”?`)) return;
    const ok = await busy(danger, box, async () => {
      await playlists.remove(playlistId);
      return true;
    });
    if (ok) navigate("/playlists");
  });

  main.append(h("h1", {}, playlist.title), h("p", {}, h("a", { href: "#/playlists" }, "All playlists")), box, status, list, danger);
}

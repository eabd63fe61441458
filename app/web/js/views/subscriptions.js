// The subscriptions feed: the newest public videos of the channels one follows, and those channels.

import { channels } from "../api.js";
import { alertBox, h } from "../dom.js";
import { pagedVideos } from "./cards.js";

function followedChannels() {
  const box = alertBox();
  const list = h("ul", { class: "channel-list" });
  const section = h(
    "section",
    { "aria-labelledby": "followed-heading" },
    h("h2", { id: "followed-heading" }, "Channels you follow"),
    box,
    list,
  );
  // The first page is enough to find one's way; each channel page lists the rest of its videos.
  channels
    .mine()
    .then((page) => {
      if (!page.items.length) {
        list.replaceWith(h("p", {}, "You do not follow any channel yet. Subscribe on a channel's page."));
        return;
      }
      list.append(
        ...page.items.map((channel) =>
          h("li", {}, h("a", { href: `#/channels/${encodeURIComponent(channel.id)}` }, channel.public_name)),
        ),
      );
    })
    .catch((error) => box.show(error));
  return section;
}

export function render(main) {
  const feed = pagedVideos((cursor) => channels.feed(cursor), "No videos from your subscriptions yet.");
  main.append(h("h1", {}, "Subscriptions"), followedChannels(), h("h2", {}, "Latest from your channels"), ...feed.elements);
  feed.load(); // not awaited, as on a channel's page
}

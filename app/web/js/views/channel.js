// A user's channel: their public name, subscriber count and subscribe button, and their
// public videos newest first.

import { channels, me, session } from "../api.js";
import { alertBox, h, whileDisabled } from "../dom.js";
import { pagedVideos } from "./cards.js";

function subscribersText(count) {
  return `${count} ${count === 1 ? "subscriber" : "subscribers"}`;
}

/**
 * The channel's subscriber count, with a Subscribe toggle for a signed-in viewer who is not its
 * owner. Like the like button, the toggle keeps its name ("Subscribe"); aria-pressed, and the
 * check mark, say whether one follows the channel; the count beside it is announced as it changes.
 */
export function subscribeBox(channel, user) {
  const box = alertBox();
  const count = h("span", { class: "count", role: "status" }, subscribersText(channel.subscribers));
  const wrapper = h("div", { class: "subscribe-box" });
  if (!session()) {
    wrapper.append(count, " · ", h("a", { href: "#/login" }, "Log in"), " to subscribe.");
    return wrapper;
  }
  if (user && user.id === channel.id) {
    wrapper.append(count);
    return wrapper;
  }
  const icon = h("span", { "aria-hidden": "true" });
  const button = h("button", { type: "button", class: "subscribe" }, icon, " Subscribe");
  let subscribed = channel.subscribed_by_me;
  const paint = (subscribers) => {
    button.setAttribute("aria-pressed", String(subscribed));
    icon.textContent = subscribed ? "✓" : "+";
    count.textContent = subscribersText(subscribers);
  };
  button.addEventListener("click", async () => {
    box.show(null);
    try {
      const result = await whileDisabled([button], () =>
        subscribed ? channels.unsubscribe(channel.id) : channels.subscribe(channel.id),
      );
      subscribed = result.subscribed_by_me;
      paint(result.subscribers);
    } catch (error) {
      box.show(error);
    }
  });
  paint(channel.subscribers);
  wrapper.append(button, count, box);
  return wrapper;
}

// An unknown user's channel and a suspended user's are answered alike (404).
function renderNotFound(main) {
  document.title = "Channel not found · reelstack";
  main.append(
    h("h1", {}, "Channel not found"),
    h("p", {}, "There is no channel at this address."),
    h("p", {}, h("a", { href: "#/" }, "Back to the feed")),
  );
}

export async function render(main, params, userId) {
  const user = await me();
  let channel;
  try {
    channel = await channels.get(userId);
  } catch (error) {
    if (error.status !== 404) throw error;
    return renderNotFound(main);
  }
  document.title = `${channel.public_name} · reelstack`;
  const list = pagedVideos((cursor) => channels.videos(channel.id, cursor), "No public videos yet.");
  main.append(h("h1", {}, channel.public_name), subscribeBox(channel, user), ...list.elements);
  // Not awaited: the page is drawn, and its heading takes the focus, before the videos arrive;
  // a Subscribe pressed meanwhile keeps the focus it was given.
  list.load();
}

// The single-page shell: hash routes (static hosting needs no rewrites), the header that
// follows the session, and focus moved to each new page's heading for screen readers.

import { session, sessionEvents, accounts, me } from "./api.js";
import { h, navigate, replace } from "./dom.js";
import * as auth from "./views/auth.js";
import * as channel from "./views/channel.js";
import * as feed from "./views/feed.js";
import * as mine from "./views/mine.js";
import * as moderationPage from "./views/moderation.js";
import * as newVideo from "./views/new-video.js";
import * as playlists from "./views/playlists.js";
import * as profile from "./views/profile.js";
import * as subscriptions from "./views/subscriptions.js";
import * as watch from "./views/watch.js";

const routes = [
  { pattern: /^\/$/, view: feed.render, title: "Feed" },
  { pattern: /^\/trending$/, view: feed.renderTrending, title: "Trending" },
  { pattern: /^\/tags\/([\w-]+)$/, view: feed.renderTag, title: "Tag" },
  { pattern: /^\/signup$/, view: auth.renderSignup, title: "Sign up" },
  { pattern: /^\/confirm$/, view: auth.renderConfirm, title: "Confirm your email" },
  { pattern: /^\/login$/, view: auth.renderLogin, title: "Log in" },
  { pattern: /^\/forgot$/, view: auth.renderForgot, title: "Reset your password" },
  { pattern: /^\/reset$/, view: auth.renderReset, title: "Choose a new password" },
  { pattern: /^\/upload$/, view: newVideo.render, title: "Upload", private: true },
  { pattern: /^\/mine$/, view: mine.render, title: "My videos", private: true },
  { pattern: /^\/playlists$/, view: playlists.renderList, title: "Playlists", private: true },
  { pattern: /^\/playlists\/([\w-]+)$/, view: playlists.renderOne, title: "Playlist", private: true },
  { pattern: /^\/profile$/, view: profile.render, title: "Profile", private: true },
  { pattern: /^\/moderation$/, view: moderationPage.render, title: "Moderation", private: true },
  { pattern: /^\/videos\/([\w-]+)$/, view: watch.render, title: "Video" },
  { pattern: /^\/channels\/([\w-]+)$/, view: channel.render, title: "Channel" },
  { pattern: /^\/subscriptions$/, view: subscriptions.render, title: "Subscriptions", private: true },
];

const nav = [
  ["#/", "Feed"],
  ["#/trending", "Trending"],
  ["#/upload", "Upload", true],
  ["#/mine", "My videos", true],
  ["#/playlists", "Playlists", true],
  ["#/subscriptions", "Subscriptions", true],
];

function currentRoute() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path, params: new URLSearchParams(search) };
}

function renderHeader() {
  const { path } = currentRoute();
  const user = session();
  const links = nav
    .filter(([, , needsLogin]) => !needsLogin || user)
    .map(([href, label]) =>
      h("li", {}, h("a", { href, "aria-current": href === `#${path}` ? "page" : undefined }, label)),
    );
  const account = user
    ? [
        h("span", { class: "who" }, user.email),
        h("a", { href: "#/profile", "aria-current": path === "/profile" ? "page" : undefined }, "Profile"),
        h("button", { type: "button", class: "link", onclick: () => accounts.logout() }, "Log out"),
      ]
    : [h("a", { href: "#/login" }, "Log in"), h("a", { href: "#/signup", class: "button" }, "Sign up")];
  const list = h("ul", {}, links);
  replace(
    document.querySelector("#site-nav"),
    h("a", { href: "#/", class: "brand" }, "reelstack"),
    list,
    h("div", { class: "account" }, account),
  );
  // Moderators get their page; the roles come with the signed-in user.
  me()
    .then((who) => {
      if (who?.roles?.includes("moderator") && list.isConnected) {
        const href = "#/moderation";
        list.append(h("li", {}, h("a", { href, "aria-current": href === `#${path}` ? "page" : undefined }, "Moderation")));
      }
    })
    .catch(() => null);
}

let cleanup = null;
let renders = 0;

async function renderPage() {
  const render = ++renders;
  cleanup?.();
  cleanup = null;
  renderHeader();
  const main = document.querySelector("#main");
  const { path, params } = currentRoute();
  const route = routes.find((r) => r.pattern.test(path));
  if (!route) {
    document.title = "Not found · reelstack";
    replace(main, h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the feed")));
    main.querySelector("h1").focus();
    return;
  }
  if (route.private && !session()) {
    navigate(`/login?next=${encodeURIComponent(path)}`);
    return;
  }
  document.title = `${route.title} · reelstack`;
  const args = path.match(route.pattern).slice(1);
  // Each page draws into its own container: a slower, superseded page then draws off-screen.
  const page = h("div", { class: "page" });
  replace(main, page);
  try {
    const release = await route.view(page, params, ...args);
    // A newer page was drawn meanwhile (the user moved on, or the session ended).
    if (render !== renders) return release?.();
    cleanup = release || null;
  } catch (error) {
    if (render !== renders) return;
    replace(
      page,
      h("h1", {}, route.title),
      h("p", { role: "alert", class: "error" }, error.message),
      h("p", {}, h("a", { href: "#/" }, "Back to the feed")),
    );
  }
  const heading = page.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

// When the session ends (logout, or a refresh that failed) the page is drawn again without
// it, which sends members-only pages to login; new tokens only change the header.
function onSessionChange() {
  if (session()) renderHeader();
  else renderPage();
}

// The skip link's target is an element, not a route: following its "#main" would make the
// hash router draw "Page not found". It moves focus to the page's content instead.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  document.querySelector("#main").focus();
});

window.addEventListener("hashchange", renderPage);
sessionEvents.addEventListener("change", onSessionChange);
renderPage();

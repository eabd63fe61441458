// The embeddable player, embed.html?video=<id>[&t=<seconds>]: a public or unlisted video's
// player alone, titled by a link to its page. The one document other sites may frame (its
// answer says frame-ancestors *, every other one 'none'), so it loads no control that changes
// anything: no header, no likes, comments or owner's panel.

import { videos } from "./api.js";
import { h, replace } from "./dom.js";
import { playerSection, shareLink, startFrom } from "./views/player-panel.js";

async function render(main, params) {
  const videoId = params.get("video") || "";
  let video = null;
  try {
    if (/^[\w-]+$/.test(videoId)) video = await videos.get(videoId);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  // The owner may see a private video, but an embed shows only what anyone with the link may.
  if (!video || video.visibility === "private" || video.status !== "ready" || !video.playback_url) {
    replace(main, h("h1", {}, "This video is not available."));
    return;
  }
  document.title = `${video.title} · reelstack`;
  replace(
    main,
    h("h1", {}, h("a", { href: shareLink(video.id), target: "_blank", rel: "noopener" }, video.title)),
    // The player lives as long as the document: nothing to release.
    playerSection(video, [], startFrom(params), { embedded: true }),
  );
}

const main = document.querySelector("#main");
render(main, new URLSearchParams(location.search)).catch((error) =>
  replace(main, h("h1", {}, "This video is not available."), h("p", { role: "alert", class: "error" }, error.message)),
);

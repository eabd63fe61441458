// One video: live transcoding progress until ready, then the player (player-panel.js); likes,
// views, tags, comments, adding to a playlist, and the owner's visibility, tags, views by day
// and delete controls.

import { channels, comments, me, playlists, session, videos } from "../api.js";
import {
  alertBox,
  append,
  busy,
  field,
  formatBytes,
  formatDate,
  h,
  navigate,
  replace,
  values,
  whileDisabled,
} from "../dom.js";
import { followProgress } from "../progress.js";
import { captionsPanel } from "./captions-panel.js";
import { STATUS_TEXT, formatViews, tagList } from "./cards.js";
import { subscribeBox } from "./channel.js";
import { playerSection, startFrom } from "./player-panel.js";
import { posterSection } from "./poster.js";
import { hiddenNotice, reportForm } from "./report.js";
import { visibilitySelect } from "./visibility.js";

const READY_POLLS = 8;
const TAGS_MAX = 10;
const VIEW_HISTORY_DAYS = 14;

/** Counts a view when `player`'s video first plays (once per viewer per day, the server decides). */
function countViewOnPlay(player, video, onCounted) {
  player.querySelector("video")?.addEventListener(
    "play",
    () => {
      videos
        .recordView(video.id)
        .then((result) => result.counted && onCounted())
        .catch(() => null); // a view that was not counted is no reason to interrupt the viewer
    },
    { once: true },
  );
  return player;
}

/**
 * `onReady()` once the stream says the video is ready; `onPlayable()` once it says the video
 * plays already (the transcoder has published its lowest rung, which grows as it works).
 */
function progressSection(video, onReady, onPlayable, cleanups) {
  const bar = h("progress", { max: 100, value: video.progress || 0, "aria-label": "Transcoding progress" });
  // Focusable from script: a retry hides its button, and the focus moves to what it started.
  const state = h("p", { class: "status", role: "status", tabindex: "-1" });
  const box = alertBox();
  // A failed video's kept source can be transcoded again, under a new task.
  const retry = h("button", { type: "button", class: "retry", hidden: true }, "Retry");
  let readySeen = false; // the record and the stream may both say so
  const show = ({ state: name, percent, error_reason: reason, playable }) => {
    if (playable && name === "transcoding") onPlayable().catch((error) => box.show(error));
    const pct = Math.max(0, Math.min(100, Math.round(percent || 0)));
    bar.value = name === "ready" ? 100 : pct;
    bar.setAttribute("aria-valuetext", `${bar.value}%`);
    state.dataset.state = name;
    state.textContent =
      name === "failed"
        ? `Transcoding failed${reason ? `: ${reason}` : "."}`
        : `${STATUS_TEXT[name] || name}${name === "transcoding" ? ` — ${pct}%` : ""}`;
    retry.hidden = name !== "failed";
    if (name === "ready" && !readySeen) {
      readySeen = true;
      onReady().catch((error) => box.show(error));
    }
  };
  const follow = () => cleanups.push(followProgress(video.id, show, (error) => box.show(error)));
  retry.addEventListener("click", async () => {
    retry.disabled = true;
    box.show(null);
    try {
      const queued = await videos.retry(video.id);
      show({ state: queued.status, percent: queued.progress });
      state.focus();
      follow();
    } catch (error) {
      box.show(error);
    } finally {
      retry.disabled = false;
    }
  });
  show({ state: video.status, percent: video.progress, error_reason: video.error_reason });
  if (video.status !== "failed") follow();
  return h("section", { class: "card transcode", "aria-label": "Processing" }, state, bar, retry, box);
}

function likeButton(video) {
  const box = alertBox();
  const icon = h("span", { "aria-hidden": "true" });
  const count = h("span", { class: "count" });
  // A toggle keeps its name, and its name is what it shows ("Like 3"; speech-input users say
  // what they see); aria-pressed, and the filled heart, say whether it is on.
  const button = h("button", { type: "button", class: "like" }, icon, " Like ", count);
  let liked = video.liked_by_me;
  const paint = (likes) => {
    button.setAttribute("aria-pressed", String(liked));
    icon.textContent = liked ? "♥" : "♡";
    count.textContent = String(likes);
  };
  button.addEventListener("click", async () => {
    box.show(null);
    try {
      const result = await whileDisabled([button], () => (liked ? videos.unlike(video.id) : videos.like(video.id)));
      liked = result.liked_by_me;
      paint(result.likes);
    } catch (error) {
      box.show(error);
    }
  });
  paint(video.likes);
  return h("div", { class: "like-box" }, button, box);
}

function playlistPicker(video) {
  const box = alertBox();
  const status = h("span", { role: "status", class: "status" });
  const select = h("select", { name: "playlist" });
  // Usable once the user's playlists have arrived.
  const add = h("button", { type: "submit", disabled: true }, "Add");
  const form = h("form", { class: "inline" }, field("Add to playlist", select), add, status, box);
  playlists
    .list()
    .then((page) => {
      if (!page.items.length) {
        replace(form, h("a", { href: "#/playlists" }, "Create a playlist"), " to collect videos.");
        return;
      }
      select.append(...page.items.map((p) => h("option", { value: p.id }, p.title)));
      add.disabled = false;
    })
    .catch((error) => box.show(error));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const choice = select.selectedOptions[0];
    const ok = await busy(form, box, async () => {
      try {
        await playlists.addItem(select.value, video.id);
      } catch (error) {
        // The service names the video by its id; the reader knows it by its title.
        if (error.code === "already_in_playlist") throw new Error(`“${video.title}” is already in ${choice.textContent}.`);
        throw error;
      }
      return true;
    });
    if (ok) status.textContent = `Added to ${choice.textContent}.`;
  });
  return form;
}

// The author's name, and who they are relative to the reader and the uploader.
function commentAuthor(comment, video, user) {
  const name = comment.author_name || "Viewer";
  if (user && comment.author_id === user.id) return `${name} (you)`;
  if (comment.author_id === video.owner_id) return `${name} (uploader)`;
  return name;
}

// Fractions of a cent are what one transcode costs: two significant digits say enough.
const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 2 });

// What transcoding the video cost at the stack's prices; nothing until it is ready, or for a
// video transcoded before costs were recorded.
function processingCost(video) {
  const line = h("p", { class: "meta cost" });
  videos
    .cost(video.id)
    .then(({ cost }) => {
      if (!cost) return;
      const machine = cost.instance_type
        ? `${cost.instance_type}${cost.purchase_option ? ` (${cost.purchase_option})` : ""}`
        : "a worker off EC2";
      line.textContent =
        `Processing cost: ${usd.format(cost.processing_usd)} for ${cost.cpu_seconds.toFixed(1)} CPU-seconds on ` +
        `${machine}; its ${formatBytes(cost.bytes_stored)} of media cost ${usd.format(cost.storage_usd_per_month)} a month to keep.`;
    })
    .catch(() => {}); // an extra: the panel works without it
  return line;
}

function ownerPanel(video, onTags) {
  const box = alertBox();
  const status = h("span", { role: "status", class: "status" });
  const form = h(
    "form",
    { class: "inline" },
    field("Visibility", visibilitySelect(video.visibility)),
    h("button", { type: "submit" }, "Save visibility"),
    h("button", { type: "button", class: "danger", name: "delete" }, "Delete video"),
    status,
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const { visibility } = values(form);
    const ok = await busy(form, box, async () => {
      await videos.update(video.id, { visibility });
      return true;
    });
    if (ok) status.textContent = "Saved.";
  });
  form.elements.delete.addEventListener("click", async () => {
    if (!window.confirm(`Delete “${video.title}” for good?`)) return;
    const ok = await busy(form, box, async () => {
      await videos.remove(video.id);
      return true;
    });
    if (ok) navigate("/mine");
  });
  return h("section", { class: "card", "aria-label": "Manage your video" }, form, tagsForm(video, onTags), processingCost(video));
}

/** The owner's tags, as one text field: words separated by commas or spaces. */
function tagsForm(video, onTags) {
  const box = alertBox();
  const status = h("span", { role: "status", class: "status" });
  const form = h(
    "form",
    { class: "inline" },
    field(
      "Tags",
      h("input", { name: "tags", value: video.tags.join(", "), autocomplete: "off" }),
      `Up to ${TAGS_MAX}, separated by commas or spaces; letters, digits and hyphens.`,
    ),
    h("button", { type: "submit" }, "Save tags"),
    status,
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const tags = values(form).tags.split(/[\s,]+/).filter(Boolean);
    const updated = await busy(form, box, () => videos.update(video.id, { tags }));
    if (updated) {
      form.elements.tags.value = updated.tags.join(", ");
      onTags(updated);
      status.textContent = "Saved.";
    }
  });
  return form;
}

/** The owner's views of the last days, one row a day, newest first. */
function viewsSection(video) {
  const box = alertBox();
  const total = h("p", {});
  const body = h("tbody");
  videos
    .viewHistory(video.id, VIEW_HISTORY_DAYS)
    .then((history) => {
      total.textContent = `${formatViews(history.total)} in all.`;
      body.append(
        ...history.days
          .slice()
          .reverse()
          .map((day) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, new Date(`${day.day}T00:00:00Z`).toLocaleDateString(undefined, { timeZone: "UTC" })),
              h("td", { "data-label": "Views" }, String(day.views)),
            ),
          ),
      );
    })
    .catch((error) => box.show(error));
  return h(
    "section",
    { class: "card", "aria-labelledby": "views-heading" },
    h("h2", { id: "views-heading" }, `Views in the last ${VIEW_HISTORY_DAYS} days`),
    total,
    box,
    h(
      "table",
      { class: "table" },
      h("caption", { class: "visually-hidden" }, "Views by day (UTC)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day (UTC)"), h("th", { scope: "col" }, "Views"))),
      body,
    ),
  );
}

function commentSection(video, user) {
  const box = alertBox();
  const status = h("p", { role: "status", class: "status" });
  const heading = h("h2", { id: "comments-heading", tabindex: "-1" }, "Comments");
  const list = h("ol", { class: "comments" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Older comments");
  let cursor = null;

  const item = (comment) => {
    const body = h("p", { class: "body" }, comment.body);
    const li = h(
      "li",
      {},
      h("p", { class: "meta" }, h("strong", {}, commentAuthor(comment, video, user)), " · ", formatDate(comment.created_at)),
      hiddenNotice(comment.hidden_reason, "comment"),
      body,
    );
    if (user && comment.author_id === user.id) li.append(authorActions(comment, li, body));
    else if (user) li.append(reportForm("comment", comment.id, "comment"));
    return li;
  };

  // Edit in place: the text becomes a small form until saved or cancelled.
  const authorActions = (comment, li, body) => {
    const actions = h("div", { class: "actions" });
    const edit = h("button", { type: "button", class: "link" }, "Edit");
    const remove = h("button", { type: "button", class: "link" }, "Delete");
    actions.append(edit, remove);
    edit.addEventListener("click", () => {
      const editBox = alertBox();
      const form = h(
        "form",
        { class: "comment-form" },
        field("Edit your comment", h("textarea", { name: "body", rows: 3, required: true, maxlength: 2000, value: comment.body })),
        editBox,
        h("div", { class: "actions" }, h("button", { type: "submit" }, "Save comment"), h("button", { type: "button", class: "secondary", name: "cancel" }, "Cancel")),
      );
      const close = () => {
        form.replaceWith(body);
        actions.hidden = false;
        edit.focus();
      };
      form.elements.cancel.addEventListener("click", close);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const { body: text } = values(form); // before busy(): disabled controls drop out of FormData
        const updated = await busy(form, editBox, () => comments.edit(video.id, comment.id, text));
        if (updated) {
          comment.body = updated.body;
          body.textContent = updated.body;
          close();
        }
      });
      body.replaceWith(form);
      actions.hidden = true;
      form.elements.body.focus();
    });
    remove.addEventListener("click", async () => {
      // One key press must not lose what someone wrote: ask first, as for videos and playlists.
      if (!window.confirm("Delete your comment? This cannot be undone.")) return;
      box.show(null);
      status.textContent = "";
      try {
        await whileDisabled([edit, remove], () => comments.remove(video.id, comment.id));
        li.remove();
        // The focused button went with the comment: continue from the section's heading.
        heading.focus();
        status.textContent = "Comment deleted.";
      } catch (error) {
        box.show(error);
      }
    });
    return actions;
  };

  async function load() {
    try {
      const page = await comments.list(video.id, cursor);
      list.append(...page.items.map(item));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      box.show(error);
    }
  }
  more.addEventListener("click", load);

  const form = h(
    "form",
    { class: "comment-form" },
    field("Add a comment", h("textarea", { name: "body", rows: 3, required: true, maxlength: 2000 })),
    h("button", { type: "submit" }, "Post comment"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { body } = values(form);
    const created = await busy(form, box, () => comments.add(video.id, body));
    if (created) {
      list.prepend(item(created));
      form.reset();
    }
  });

  load();
  return h(
    "section",
    { class: "comments-section", "aria-labelledby": "comments-heading" },
    heading,
    session() ? form : h("p", {}, h("a", { href: "#/login" }, "Log in"), " to comment."),
    box,
    status,
    list,
    more,
  );
}

function byline(channel, user) {
  const link = h("a", { href: `#/channels/${encodeURIComponent(channel.id)}` }, channel.public_name);
  return h("div", { class: "byline" }, h("p", {}, "By ", link), subscribeBox(channel, user));
}

// The MP4 its owner chose to offer: served as an attachment, so the browser saves it.
function downloadLink(video) {
  if (!video.download_url) return null;
  return h("p", { class: "download" }, h("a", { href: video.download_url, download: "", class: "button secondary" }, "Download MP4"));
}

// A video that does not exist and one the reader may not see are answered alike (404).
function renderNotFound(main) {
  document.title = "Video not found · reelstack";
  main.append(
    h("h1", {}, "Video not found"),
    h("p", {}, "There is no video at this address, or its owner has made it private."),
    h("p", {}, h("a", { href: "#/" }, "Back to the feed")),
  );
}

export async function render(main, params, videoId) {
  const cleanups = [];
  const user = await me();
  let video;
  try {
    video = await videos.get(videoId);
  } catch (error) {
    if (error.status !== 404) throw error;
    return renderNotFound(main);
  }
  const isOwner = Boolean(user) && video.owner_id === user.id;
  // The byline names the owner's channel; the page stands without it if it cannot be read.
  const channel = await channels.get(video.owner_id).catch(() => null);
  const stage = h("div", { class: "stage" });
  let views = video.views;
  const viewCount = h("span", { class: "views" }, formatViews(views));
  const counted = () => {
    views += 1;
    viewCount.textContent = formatViews(views);
  };
  const tags = h("div", {}, tagList(video));
  const showTags = (updated) => replace(tags, tagList(updated));

  // The progress stream and the backend's record of the state travel separately; the
  // record may lag the "ready" event by a moment, so ask again a few times.
  const whenRecordedReady = async () => {
    for (let attempt = 1; attempt <= READY_POLLS; attempt += 1) {
      video = await videos.get(videoId);
      if (video.status === "ready" && video.playback_url) {
        // The player takes the progress card's place: above it, the card would push the
        // player's controls below the fold. An early player's viewer goes on where they were.
        const at = Math.floor(stage.querySelector("video")?.currentTime || 0) || null;
        early?.splice(0).forEach((release) => release());
        replace(stage, countViewOnPlay(playerSection(video, cleanups, at), video, counted), downloadLink(video));
        replace(readyPanels, ownerReadyPanels());
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
    throw new Error("The video is ready, but its player is not available yet. Reload the page in a moment.");
  };

  // The transcoder publishes the lowest rung while it works (its playlist grows until ready):
  // the player appears above the progress card, and gives way to the full ladder's at ready.
  let early = null;
  const whenPlayable = async () => {
    if (early) return;
    early = [];
    for (let attempt = 1; attempt <= READY_POLLS; attempt += 1) {
      const playing = await videos.get(videoId);
      if (playing.status !== "transcoding") return; // ready or failed meanwhile: the card says which
      if (playing.playback_url) {
        stage.prepend(playerSection(playing, early));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  };

  // Captions changed: the playlist that lists them has a new address; play from where it was.
  const reloadPlayer = async () => {
    const at = stage.querySelector("video")?.currentTime || 0;
    video = await videos.get(videoId);
    cleanups.splice(0).forEach((release) => release());
    replace(stage, playerSection(video, cleanups, Math.floor(at)));
  };

  // The owner's panels of a ready video; they appear when the page turns to the player too.
  const ownerReadyPanels = () =>
    isOwner && video.status === "ready"
      ? [
          captionsPanel(video, reloadPlayer),
          viewsSection(video),
          // The player shows the new poster at once (the feed on its next load).
          posterSection(video, (url) => stage.querySelector("video")?.setAttribute("poster", url)),
        ]
      : [];
  const readyPanels = h("div", {}, ownerReadyPanels());

  if (video.status === "ready" && video.playback_url) {
    append(stage, [countViewOnPlay(playerSection(video, cleanups, startFrom(params)), video, counted), downloadLink(video)]);
  } else if (isOwner) {
    stage.append(progressSection(video, whenRecordedReady, whenPlayable, cleanups));
    if (video.status === "transcoding" && video.playback_url) whenPlayable().catch(() => null); // no early player: the card goes on
  } else {
    stage.append(h("p", { class: "status" }, STATUS_TEXT[video.status] || video.status));
  }

  append(main, [
    h("h1", {}, video.title),
    h("p", { class: "meta" }, formatDate(video.created_at), " · ", viewCount),
    tags,
    channel ? byline(channel, user) : null,
    isOwner ? hiddenNotice(video.hidden_reason, "video") : null,
    stage,
    session() ? h("div", { class: "toolbar" }, likeButton(video), playlistPicker(video)) : null,
    video.description ? h("p", { class: "description" }, video.description) : null,
    isOwner ? ownerPanel(video, showTags) : null,
    readyPanels,
    user && !isOwner ? reportForm("video", video.id, "video") : null,
    commentSection(video, user),
  ]);
  return () => [...cleanups, ...(early || [])].forEach((release) => release());
}

// The player of a ready video and what goes with it: quality (where hls.js plays), captions, speed,
// keyboard shortcuts, resuming where the viewer stopped, a seek bar previewing the frame at the
// time under the pointer, and a link to share, at a time or not.

import { alertBox, field, formatDuration, h, replace } from "../dom.js";
import { attachHls } from "../player.js";
import { cueAt, loadStoryboard } from "../storyboard.js";

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
const SEEK_SECONDS = 10;
// A position this close to the end is not worth resuming: the next visit starts over.
const RESUME_MARGIN_SECONDS = 3;
const SAVE_EVERY_SECONDS = 2;

const positionKey = (videoId) => `reelstack.position.${videoId}`;

function savedPosition(videoId) {
  try {
    return Number(localStorage.getItem(positionKey(videoId))) || 0;
  } catch {
    return 0; // storage off (a private window, say): nothing to resume
  }
}

function savePosition(videoId, seconds) {
  try {
    if (seconds === null) localStorage.removeItem(positionKey(videoId));
    else localStorage.setItem(positionKey(videoId), String(Math.floor(seconds)));
  } catch {
    // storage off or full: resuming is a nicety, playback goes on
  }
}

// The app's page for a hash route, from the app or from the embed document beside it.
const appUrl = (route) => new URL(`./#${route}`, location.href).href;

/** The address of the video's page, starting at `seconds` when given. */
export function shareLink(videoId, seconds) {
  const base = appUrl(`/videos/${encodeURIComponent(videoId)}`);
  return seconds ? `${base}?t=${seconds}` : base;
}

const attribute = (text) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** A shared link's start time (?t=seconds); null without one. */
export function startFrom(params) {
  return /^\d+$/.test(params.get("t") || "") ? Number(params.get("t")) : null;
}

/**
 * The HTML another site pastes to show the video in its page: an iframe of embed.html, the one
 * document of the site that other sites may frame (index.html and its routes refuse it).
 */
function embedCode(video) {
  const src = new URL(`embed.html?video=${encodeURIComponent(video.id)}`, location.href).href;
  return `<iframe src="${attribute(src)}" width="640" height="400" title="${attribute(video.title)}" allow="fullscreen" style="border:0"></iframe>`;
}

// Keys as on the big video sites; arrows and Space are the native player's own.
function shortcuts(el) {
  const actions = {
    k: () => (el.paused ? el.play().catch(() => null) : el.pause()),
    j: () => (el.currentTime = Math.max(0, el.currentTime - SEEK_SECONDS)),
    l: () => (el.currentTime = Math.min(el.duration || Infinity, el.currentTime + SEEK_SECONDS)),
    m: () => (el.muted = !el.muted),
    f: () => (document.fullscreenElement ? document.exitFullscreen() : el.requestFullscreen()).catch(() => null),
  };
  return (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea")) return;
    const action = actions[event.key.toLowerCase()];
    if (!action) return;
    event.preventDefault();
    action();
  };
}

function qualityPicker() {
  const select = h("select", { name: "quality" });
  const wrapper = field("Quality", select);
  wrapper.hidden = true; // until hls.js offers more than one rung
  const offer = (heights, choose) => {
    const options = heights.map((height, index) => h("option", { value: String(index) }, `${height}p`));
    replace(select, h("option", { value: "-1" }, "Auto"), options.reverse());
    select.onchange = () => choose(Number(select.value));
    wrapper.hidden = heights.length < 2;
  };
  return { wrapper, offer };
}

/**
 * The video's caption tracks (HLS subtitle renditions) or none. Both players expose them as the
 * element's text tracks: Safari's own, and hls.js, which follows the mode a track is given.
 */
function captionPicker(el) {
  const select = h("select", { name: "captions" });
  const wrapper = field("Captions", select);
  const tracks = () => [...el.textTracks].filter((track) => track.kind === "subtitles" || track.kind === "captions");
  const offer = () => {
    const choices = tracks();
    const showing = choices.findIndex((track) => track.mode === "showing");
    replace(
      select,
      h("option", { value: "-1" }, "Off"),
      choices.map((track, index) =>
        h("option", { value: String(index), selected: index === showing }, track.label || track.language || `Track ${index + 1}`),
      ),
    );
    wrapper.hidden = choices.length === 0;
  };
  select.addEventListener("change", () => {
    tracks().forEach((track, index) => (track.mode = index === Number(select.value) ? "showing" : "disabled"));
  });
  el.textTracks.addEventListener("addtrack", offer);
  el.textTracks.addEventListener("removetrack", offer);
  // The player may turn a track on or off itself (its own menu, a default track).
  el.textTracks.addEventListener("change", () => (select.value = String(tracks().findIndex((track) => track.mode === "showing"))));
  offer();
  return wrapper;
}

function speedPicker(el) {
  const select = h(
    "select",
    { name: "speed" },
    SPEEDS.map((speed) => h("option", { value: String(speed), selected: speed === 1 }, speed === 1 ? "Normal" : `${speed}×`)),
  );
  // defaultPlaybackRate too: a source change (hls.js falling back) resets to it.
  select.addEventListener("change", () => (el.playbackRate = el.defaultPlaybackRate = Number(select.value)));
  return field("Speed", select);
}

/**
 * A seek bar (a native range input: arrows, Page Up/Down, Home and End move it) under the video,
 * with the storyboard's tile for the time under the pointer, or the time the keys chose, above
 * it. The preview is visual only; the slider speaks its time as "m:ss of m:ss".
 */
function seekBar(video, el) {
  const sprite = h("img", { alt: "", class: "seek-sprite" });
  const tile = h("div", { class: "seek-tile" }, sprite);
  const label = h("span", { class: "seek-time" });
  const preview = h("div", { class: "seek-preview", hidden: true, "aria-hidden": "true" }, tile, label);
  const slider = h("input", { type: "range", name: "seek", min: 0, max: 0, step: "any", value: 0, "aria-label": "Seek" });
  let cues = [];
  loadStoryboard(video.storyboard_url).then((loaded) => (cues = loaded));

  const describe = (time) => slider.setAttribute("aria-valuetext", `${formatDuration(time)} of ${formatDuration(el.duration || 0)}`);
  const show = (time) => {
    const cue = cueAt(cues, time);
    if (!cue) return;
    if (sprite.src !== cue.url) sprite.src = cue.url;
    sprite.style.left = `${-cue.x}px`;
    sprite.style.top = `${-cue.y}px`;
    tile.style.width = `${cue.width}px`;
    tile.style.height = `${cue.height}px`;
    label.textContent = formatDuration(time);
    preview.hidden = false;
    const track = slider.clientWidth;
    const centre = (time / (Number(slider.max) || 1)) * track;
    preview.style.left = `${Math.max(0, Math.min(track - cue.width, centre - cue.width / 2))}px`;
  };
  const hide = () => (preview.hidden = true);

  const setDuration = () => {
    if (Number.isFinite(el.duration)) slider.max = String(el.duration);
    describe(el.currentTime);
  };
  el.addEventListener("loadedmetadata", setDuration);
  el.addEventListener("durationchange", setDuration);
  el.addEventListener("timeupdate", () => {
    if (document.activeElement === slider && !preview.hidden) return; // the viewer is scrubbing
    slider.value = String(el.currentTime);
    describe(el.currentTime);
  });
  slider.addEventListener("pointermove", (event) => {
    const box = slider.getBoundingClientRect();
    const fraction = Math.max(0, Math.min(1, (event.clientX - box.left) / (box.width || 1)));
    show(fraction * Number(slider.max));
  });
  slider.addEventListener("pointerleave", () => document.activeElement !== slider && hide());
  slider.addEventListener("input", () => {
    const time = Number(slider.value);
    el.currentTime = time;
    describe(time);
    show(time);
  });
  slider.addEventListener("blur", hide);
  return h("div", { class: "seek" }, preview, slider);
}

function sharePanel(video, el) {
  const link = h("input", { name: "share", readonly: true, value: shareLink(video.id, 0) });
  const atTime = h("input", { type: "checkbox", name: "share-at", id: `share-at-${video.id}` });
  const atLabel = h("label", { for: atTime.id }, "Start at 0:00");
  let shown = -1;
  const update = () => {
    const seconds = Math.floor(el.currentTime);
    if (seconds !== shown) atLabel.textContent = `Start at ${formatDuration(seconds)}`;
    shown = seconds;
    link.value = shareLink(video.id, atTime.checked ? seconds : 0);
  };
  el.addEventListener("timeupdate", update);
  atTime.addEventListener("change", update);
  link.addEventListener("focus", () => link.select());
  // Only a video anyone with the link may see can be shown on another site.
  const embed =
    video.visibility === "private"
      ? null
      : field("Embed code", h("textarea", { name: "embed", readonly: true, rows: 2, value: embedCode(video) }), "Paste it into another site's page.");
  return h("div", { class: "share" }, field("Link to share", link), h("div", { class: "check" }, atTime, atLabel), embed);
}

/**
 * The player of `video`, starting at `startAt` seconds, or where this browser last stopped;
 * `embedded` leaves out the share panel (the page around the iframe is not ours).
 */
export function playerSection(video, cleanups, startAt = null, { embedded = false } = {}) {
  const box = alertBox();
  const el = h("video", {
    controls: true,
    playsinline: true,
    preload: "metadata",
    poster: video.thumbnail_url || undefined,
    "aria-label": `Video: ${video.title}`,
  });
  const quality = qualityPicker();

  const start = startAt ?? savedPosition(video.id);
  el.addEventListener(
    "loadedmetadata",
    () => {
      if (start > 0 && start < el.duration - RESUME_MARGIN_SECONDS) el.currentTime = start;
    },
    { once: true },
  );
  let saved = start;
  el.addEventListener("timeupdate", () => {
    if (Math.abs(el.currentTime - saved) < SAVE_EVERY_SECONDS) return;
    saved = el.currentTime;
    savePosition(video.id, saved);
  });
  el.addEventListener("pause", () => savePosition(video.id, el.ended ? null : el.currentTime));
  el.addEventListener("ended", () => savePosition(video.id, null));

  attachHls(el, video.playback_url, {
    onError: (message) => box.show(new Error(message)),
    onLevels: quality.offer,
  }).then((release) => cleanups.push(release));

  const player = h(
    "div",
    { class: "player" },
    el,
    video.storyboard_url ? seekBar(video, el) : null,
    box,
    h("div", { class: "player-controls inline" }, quality.wrapper, captionPicker(el), speedPicker(el)),
    h(
      "p",
      { class: "hint" },
      "Keys: ",
      h("kbd", {}, "K"),
      " play or pause, ",
      h("kbd", {}, "J"),
      " / ",
      h("kbd", {}, "L"),
      ` back or forward ${SEEK_SECONDS} s, `,
      h("kbd", {}, "M"),
      " mute, ",
      h("kbd", {}, "F"),
      " full screen.",
    ),
    embedded ? null : sharePanel(video, el),
  );
  player.addEventListener("keydown", shortcuts(el));
  return player;
}

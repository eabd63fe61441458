// HLS playback: hls.js wherever Media Source Extensions exist, the browser's own player where
// they do not (iPhone Safari before ManagedMediaSource), and hls.js again if the native player
// fails on this stream. Only hls.js lets the page choose a rung of the ladder (a native player
// always picks its own), and only hls.js turns the playlist's subtitle renditions into text
// tracks everywhere: Chromium's native HLS player offers none of them, Safari's does.

const HLS_TYPE = "application/vnd.apple.mpegurl";

async function withHlsJs(video, url, { onError, onLevels }) {
  const { default: Hls } = await import("hls.js");
  if (!Hls.isSupported()) {
    onError("This browser cannot play HLS video.");
    return () => {};
  }
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (data.fatal) onError(`Playback failed (${data.details}).`);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
    // -1 is hls.js's automatic choice. currentLevel switches at once (dropping what is buffered
    // at the old rung): the viewer asked for it and expects to see it.
    onLevels?.(data.levels.map((level) => level.height), (index) => (hls.currentLevel = index));
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return () => hls.destroy();
}

/**
 * Plays `url` in `video`; returns a function that releases the player. `onError(message)` reports
 * a failure; `onLevels(heights, choose)` is called when the page may choose a rung
 * (`choose(index)`, or `choose(-1)` for automatic).
 */
export async function attachHls(video, url, handlers) {
  const { default: Hls } = await import("hls.js");
  if (Hls.isSupported() || !video.canPlayType(HLS_TYPE)) return withHlsJs(video, url, handlers);
  let release = () => {};
  video.addEventListener(
    "error",
    async () => {
      video.removeAttribute("src");
      video.load();
      release = await withHlsJs(video, url, handlers);
    },
    { once: true },
  );
  video.src = url;
  return () => release();
}

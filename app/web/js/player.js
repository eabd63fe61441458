// HLS playback: the browser's own player where it has one, hls.js (Media Source Extensions)
// elsewhere, and hls.js again if the native player fails on this stream.

const HLS_TYPE = "application/vnd.apple.mpegurl";

async function withHlsJs(video, url, onError) {
  const { default: Hls } = await import("hls.js");
  if (!Hls.isSupported()) {
    onError("This browser cannot play HLS video.");
    return () => {};
  }
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (data.fatal) onError(`Playback failed (${data.details}).`);
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return () => hls.destroy();
}

/** Plays `url` in `video`; returns a function that releases the player. */
export async function attachHls(video, url, onError) {
  if (!video.canPlayType(HLS_TYPE)) return withHlsJs(video, url, onError);
  let release = () => {};
  video.addEventListener(
    "error",
    async () => {
      video.removeAttribute("src");
      video.load();
      release = await withHlsJs(video, url, onError);
    },
    { once: true },
  );
  video.src = url;
  return () => release();
}

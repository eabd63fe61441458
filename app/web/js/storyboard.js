// Seek previews: the WebVTT thumbnails track the transcoder writes beside its sprite sheets.
// Each cue maps a time range to one tile, "sprite-N.jpg#xywh=x,y,w,h", relative to the track.

const CUE = /^(\S+)\s+-->\s+(\S+)[^\n]*\n([^\n#]+)#xywh=(\d+),(\d+),(\d+),(\d+)\s*$/;

function seconds(timestamp) {
  // hh:mm:ss.mmm or mm:ss.mmm, as WebVTT allows
  return timestamp.split(":").reduce((total, part) => total * 60 + Number(part), 0);
}

/** The track's cues, `{start, end, url, x, y, width, height}`, their images resolved against `trackUrl`. */
export function parseStoryboard(text, trackUrl) {
  const cues = [];
  for (const block of text.replace(/\r\n?/g, "\n").split(/\n{2,}/)) {
    const found = CUE.exec(block.trim());
    if (!found) continue;
    const [, start, end, image, x, y, width, height] = found;
    cues.push({
      start: seconds(start),
      end: seconds(end),
      url: new URL(image, trackUrl).href,
      x: Number(x),
      y: Number(y),
      width: Number(width),
      height: Number(height),
    });
  }
  return cues;
}

/** The cue showing `time`: the last one starting at or before it (the first before any). */
export function cueAt(cues, time) {
  let chosen = cues[0] || null;
  for (const cue of cues) {
    if (cue.start > time) break;
    chosen = cue;
  }
  return chosen;
}

/** The track's cues, or none when it cannot be read: previews are a nicety, playback goes on. */
export async function loadStoryboard(trackUrl) {
  try {
    const response = await fetch(trackUrl);
    return response.ok ? parseStoryboard(await response.text(), trackUrl) : [];
  } catch {
    return [];
  }
}

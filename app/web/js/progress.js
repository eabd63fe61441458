// Live transcoding progress over SSE. EventSource reconnects by itself (sending Last-Event-ID);
// when the server refuses a reconnect (the short-lived ticket expired) the stream is closed
// for good, so a fresh ticket is fetched and a new EventSource opened.

import { videos } from "./api.js";

const FINAL_STATES = new Set(["ready", "failed"]);
const MAX_REOPENS = 5;

/**
 * Calls `onUpdate({state, percent, error_reason?})` for the snapshot and each event, and
 * `onError(error)` when it gives up. Returns a function that stops listening.
 */
export function followProgress(videoId, onUpdate, onError) {
  let source = null;
  let stopped = false;
  let reopens = 0;
  let retryTimer = null;

  const stop = () => {
    stopped = true;
    clearTimeout(retryTimer);
    source?.close();
  };

  const handle = (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // Not an update (a comment or a malformed line): nothing to show.
    }
    reopens = 0;
    onUpdate(data);
    if (FINAL_STATES.has(data.state)) stop();
  };

  const open = async () => {
    let ticket;
    try {
      ticket = await videos.eventsTicket(videoId);
    } catch (error) {
      onError(error);
      return;
    }
    if (stopped) return;
    source = new EventSource(ticket.url);
    source.addEventListener("message", handle);
    source.addEventListener("progress", handle);
    source.addEventListener("error", () => {
      if (stopped || source.readyState !== EventSource.CLOSED) return;
      if (++reopens > MAX_REOPENS) {
        onError(new Error("Lost the live progress stream. Reload the page to see the latest state."));
        return;
      }
      retryTimer = setTimeout(open, 1000 * reopens);
    });
  };

  open();
  return stop;
}

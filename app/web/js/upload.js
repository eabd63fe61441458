// Browser-to-S3 uploads: a presigned POST for ordinary files, presigned parts for large ones,
// resumable after a reload or a dropped connection.
// XMLHttpRequest, not fetch, because only XHR reports upload progress.

import { ApiError, captions, me, multipart, videos } from "./api.js";
import { formatBytes } from "./dom.js";

function xhrSend(method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
      else reject(new ApiError(xhr.status, "upload_rejected", storageMessage(xhr)));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "network", "The upload was interrupted. Check your connection and try again.")),
    );
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "The upload was cancelled.")));
    xhr.send(body);
  });
}

// S3 answers in XML: <Error><Code>EntityTooLarge</Code><Message>...</Message></Error>.
function storageMessage(xhr) {
  const doc = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
  const code = doc.querySelector("Error > Code")?.textContent;
  const message = doc.querySelector("Error > Message")?.textContent;
  if (code === "EntityTooLarge") return "The file is larger than the platform accepts.";
  return message ? `Storage refused the upload: ${message}` : `Storage refused the upload (${xhr.status}).`;
}

async function presignedPost(upload, file, onProgress) {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  // The policy requires a video/* Content-Type field but leaves its value to the client.
  if (!("Content-Type" in upload.fields)) form.append("Content-Type", file.type);
  // S3 ignores every field after the file, so it goes last.
  form.append("file", file);
  await xhrSend("POST", upload.url, form, onProgress);
}

// S3 allows at most 10,000 parts of at least 5 MiB; URLs are asked for in batches so that
// none expires while earlier parts are still on their way.
const PART_BYTES = 8 * 1024 * 1024;
const MAX_PARTS = 10000;
const URL_BATCH = 100;
// A part whose connection drops, or that storage answers 5xx (SlowDown, InternalError), is sent
// again after 1, 2, 4, 8 and 16 seconds (with jitter) before the upload counts as interrupted;
// one whose URL expired (an upload longer than the URL's hour) gets a fresh URL.
const PART_RETRIES = 5;
const RETRY_BASE_MS = 1000;

// Unfinished multipart uploads outlive the page (a reload, a closed tab) in localStorage, by
// video id: what the upload needs to go on, and what recognises the same file when it is chosen
// again (browsers cannot reopen a file by themselves).
const PENDING_KEY = "reelstack.uploads";

function pendingUploads() {
  try {
    return JSON.parse(localStorage.getItem(PENDING_KEY)) || {};
  } catch {
    return {};
  }
}

function keepPending(entry) {
  localStorage.setItem(PENDING_KEY, JSON.stringify({ ...pendingUploads(), [entry.videoId]: entry }));
}

function forgetPending(videoId) {
  const { [videoId]: _, ...rest } = pendingUploads();
  localStorage.setItem(PENDING_KEY, JSON.stringify(rest));
}

/** The signed-in user's unfinished uploads: [{videoId, title, file: {name, size, lastModified, type}}]. */
export async function unfinishedUploads() {
  const user = await me();
  if (!user) return [];
  return Object.values(pendingUploads()).filter((entry) => entry.owner === user.id);
}

function sameFile(kept, file) {
  return kept.name === file.name && kept.size === file.size && kept.lastModified === file.lastModified;
}

function retryable(error) {
  return error.code === "network" || error.status >= 500;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** PUT one part to its presigned URL, retrying with backoff; an expired URL (403) is renewed once. */
async function putPart(videoId, part, body, onBytes) {
  let url = part.url;
  let renewed = false;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await xhrSend("PUT", url, body, onBytes);
    } catch (error) {
      if (error.status === 403 && !renewed) {
        renewed = true;
        [{ url }] = (await multipart.partUrls(videoId, [part.part_number])).parts;
        continue;
      }
      if (attempt >= PART_RETRIES || !retryable(error)) throw error;
      await sleep(RETRY_BASE_MS * 2 ** attempt * (0.75 + Math.random() / 2));
    }
  }
}

/** Send the parts storage does not hold yet (`stored`: what the API listed), then assemble them. */
async function sendParts(videoId, file, partSize, stored, onProgress) {
  const count = Math.ceil(file.size / partSize);
  const expectedSize = (number) => Math.min(partSize, file.size - (number - 1) * partSize);
  const etags = new Map();
  for (const part of stored) {
    // A part of another size (another file, another part size) is sent again.
    if (part.part_number <= count && part.size === expectedSize(part.part_number)) {
      etags.set(part.part_number, part.etag);
    }
  }
  const loaded = Array.from({ length: count }, (_, i) => (etags.has(i + 1) ? expectedSize(i + 1) : 0));
  const report = () => onProgress(loaded.reduce((a, b) => a + b, 0));
  report();
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((number) => !etags.has(number));
  for (let first = 0; first < missing.length; first += URL_BATCH) {
    const { parts } = await multipart.partUrls(videoId, missing.slice(first, first + URL_BATCH));
    for (const part of parts) {
      const start = (part.part_number - 1) * partSize;
      const xhr = await putPart(videoId, part, file.slice(start, start + partSize), (bytes) => {
        loaded[part.part_number - 1] = bytes;
        report();
      });
      etags.set(part.part_number, xhr.getResponseHeader("ETag"));
    }
  }
  const done = [...etags].sort(([a], [b]) => a - b).map(([number, etag]) => ({ part_number: number, etag }));
  await multipart.complete(videoId, done);
}

/**
 * Run the rest of an upload. A connection that stays down keeps the video and what was sent, for
 * a resume later; any other failure leaves no half-made video behind in "my videos".
 */
async function finishing(videoId, work) {
  try {
    await work();
    await videos.markUploaded(videoId);
    forgetPending(videoId);
  } catch (error) {
    // "aborted": the page is going away (a reload) with parts in flight; never delete then.
    if ((error.code === "network" || error.code === "aborted") && pendingUploads()[videoId]) {
      throw new ApiError(
        0,
        "interrupted",
        "The connection dropped. What was sent is kept: resume the upload from this page when you are back online.",
      );
    }
    forgetPending(videoId);
    await multipart.abort(videoId).catch(() => null);
    await videos.remove(videoId).catch(() => null);
    throw error;
  }
}

async function multipartUpload(videoId, title, file, onProgress) {
  const partSize = Math.max(PART_BYTES, Math.ceil(file.size / MAX_PARTS));
  const { upload_id: uploadId } = await multipart.start(videoId, file.type);
  const { name, size, lastModified, type } = file;
  const owner = (await me()).id;
  keepPending({ videoId, uploadId, partSize, owner, title, file: { name, size, lastModified, type } });
  await sendParts(videoId, file, partSize, [], onProgress);
}

/**
 * Go on with an unfinished upload (an entry of `unfinishedUploads()`), given the same file again:
 * asks which parts storage holds and sends only the others.
 */
export async function resumeUpload(entry, file, onProgress) {
  if (!sameFile(entry.file, file)) {
    throw new ApiError(
      0,
      "different_file",
      `That is not the file this upload started with: choose ${entry.file.name} (${formatBytes(entry.file.size)}).`,
    );
  }
  const report = (bytes) => onProgress(Math.min(1, bytes / file.size));
  let stored = [];
  let restart = false;
  try {
    stored = (await multipart.progress(entry.videoId)).parts;
  } catch (error) {
    if (error.code === "no_multipart_upload") {
      stored = null; // every part was assembled before the page went: only marking it remains
    } else if (error.code === "multipart_gone") {
      restart = true; // storage cleaned the upload away (its lifecycle aborts stale ones)
    } else {
      // Finished or deleted meanwhile (another tab, say): nothing is left to resume.
      if (error.code === "already_uploaded" || error.status === 404) forgetPending(entry.videoId);
      throw error;
    }
  }
  await finishing(entry.videoId, async () => {
    if (restart) {
      await multipart.abort(entry.videoId);
      const { upload_id: uploadId } = await multipart.start(entry.videoId, file.type);
      keepPending({ ...entry, uploadId });
    }
    if (stored) await sendParts(entry.videoId, file, entry.partSize, stored, report);
  });
  onProgress(1);
  return entry.videoId;
}

/** Give up an unfinished upload: its parts and its video go. */
export async function discardUpload(entry) {
  forgetPending(entry.videoId);
  await multipart.abort(entry.videoId).catch(() => null);
  await videos.remove(entry.videoId).catch(() => null);
}

/**
 * Create the video, add its caption track if one is given (`{ language, label, format, content }`;
 * published when the video is ready), send the file straight to storage, then mark it uploaded.
 * `onProgress(fraction)` is called with 0..1 while bytes go out.
 */
export async function uploadVideo({ file, title, description, visibility, filters = [], mp4Download = false, caption = null }, onProgress) {
  if (!file.type.startsWith("video/")) {
    throw new ApiError(0, "not_a_video", "Choose a video file (MP4, MOV, WebM or similar).");
  }
  const created = await videos.create({ title, description, visibility, filters, mp4_download: mp4Download });
  if (file.size > created.max_upload_bytes) {
    await videos.remove(created.id).catch(() => null);
    const limit = formatBytes(created.max_upload_bytes);
    throw new ApiError(0, "too_large", `The file is larger than the ${limit} the platform accepts.`);
  }
  if (caption) {
    // Before the video's bytes go out, so a refused caption file costs no upload; the video
    // goes with it, and the form can be sent again once the file is fixed.
    const { language, ...track } = caption;
    try {
      await captions.put(created.id, language, track);
    } catch (error) {
      await videos.remove(created.id).catch(() => null);
      throw new ApiError(error.status, error.code, `The caption file was not accepted, so nothing was uploaded: ${error.message}`);
    }
  }
  const report = (bytes) => onProgress(Math.min(1, bytes / file.size));
  await finishing(created.id, () =>
    file.size >= created.multipart_threshold_bytes
      ? multipartUpload(created.id, title, file, report)
      : presignedPost(created.upload, file, report),
  );
  onProgress(1);
  return created.id;
}

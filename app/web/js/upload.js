// Browser-to-S3 uploads: a presigned POST for ordinary files, presigned parts for large ones.
// XMLHttpRequest, not fetch, because only XHR reports upload progress.

import { ApiError, multipart, videos } from "./api.js";
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

async function multipartUpload(videoId, file, onProgress) {
  const partSize = Math.max(PART_BYTES, Math.ceil(file.size / MAX_PARTS));
  const count = Math.ceil(file.size / partSize);
  const loaded = new Array(count).fill(0);
  await multipart.start(videoId, file.type);
  try {
    const done = [];
    for (let first = 1; first <= count; first += URL_BATCH) {
      const numbers = Array.from({ length: Math.min(URL_BATCH, count - first + 1) }, (_, i) => first + i);
      const { parts } = await multipart.partUrls(videoId, numbers);
      for (const part of parts) {
        const start = (part.part_number - 1) * partSize;
        const xhr = await xhrSend("PUT", part.url, file.slice(start, start + partSize), (bytes) => {
          loaded[part.part_number - 1] = bytes;
          onProgress(loaded.reduce((a, b) => a + b, 0));
        });
        done.push({ part_number: part.part_number, etag: xhr.getResponseHeader("ETag") });
      }
    }
    await multipart.complete(videoId, done);
  } catch (error) {
    await multipart.abort(videoId).catch(() => null);
    throw error;
  }
}

/**
 * Create the video, send the file straight to storage, then mark it uploaded.
 * `onProgress(fraction)` is called with 0..1 while bytes go out.
 */
export async function uploadVideo({ file, title, description, visibility, filters = [] }, onProgress) {
  if (!file.type.startsWith("video/")) {
    throw new ApiError(0, "not_a_video", "Choose a video file (MP4, MOV, WebM or similar).");
  }
  const created = await videos.create({ title, description, visibility, filters });
  try {
    if (file.size > created.max_upload_bytes) {
      const limit = formatBytes(created.max_upload_bytes);
      throw new ApiError(0, "too_large", `The file is larger than the ${limit} the platform accepts.`);
    }
    const report = (bytes) => onProgress(Math.min(1, bytes / file.size));
    if (file.size >= created.multipart_threshold_bytes) {
      await multipartUpload(created.id, file, report);
    } else {
      await presignedPost(created.upload, file, report);
    }
    onProgress(1);
    await videos.markUploaded(created.id);
  } catch (error) {
    // Leave no half-made video behind in "my videos"; the error is what the user needs to see.
    await videos.remove(created.id).catch(() => null);
    throw error;
  }
  return created.id;
}

// Browser-to-S3 uploads: a presigned POST for ordinary files, presigned parts for large ones.
// XMLHttpRequest, not fetch, because only XHR reports upload progress.

import { ApiError, multipart, videos } from "./api.js";

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
  for (const [name, value] of Object.entries(upload.fields || {})) form.append(name, value);
  // S3 ignores every field after the file, so it goes last.
  form.append("file", file);
  await xhrSend("POST", upload.url, form, onProgress);
}

async function multipartUpload(videoId, file, onProgress) {
  const plan = await multipart.start(videoId, file.size);
  const uploadId = plan.upload_id;
  const loaded = new Map();
  const report = () => onProgress([...loaded.values()].reduce((a, b) => a + b, 0));
  try {
    const done = [];
    for (const part of plan.parts) {
      const start = (part.part_number - 1) * plan.part_size;
      const blob = file.slice(start, start + plan.part_size);
      const xhr = await xhrSend("PUT", part.url, blob, (bytes) => {
        loaded.set(part.part_number, bytes);
        report();
      });
      done.push({ part_number: part.part_number, etag: xhr.getResponseHeader("ETag") });
    }
    await multipart.complete(videoId, uploadId, done);
  } catch (error) {
    await multipart.abort(videoId, uploadId).catch(() => null);
    throw error;
  }
}

/**
 * Create the video, send the file straight to storage, then mark it uploaded.
 * `onProgress(fraction)` is called with 0..1 while bytes go out.
 */
export async function uploadVideo({ file, title, description, visibility }, onProgress) {
  const created = await videos.create({ title, description: description || undefined, visibility });
  const report = (bytes) => onProgress(Math.min(1, bytes / file.size));
  const threshold = created.multipart_threshold_bytes;
  if (threshold && file.size >= threshold) {
    await multipartUpload(created.id, file, report);
  } else {
    await presignedPost(created.upload, file, report);
  }
  onProgress(1);
  await videos.markUploaded(created.id);
  return created.id;
}

// Talks to whisperd's JSON API (docs/api-contract.md). Every call carries the API key
// when one is set, has a timeout, and fails with an ApiError whose message can be shown
// to a person as it is.

const KEY_NAME = "whisperd.apiKey";
const DEFAULT_TIMEOUT_MS = 30000;
// Fallback when storage is disabled, so the key still lasts as long as the page.
let memoryKey = "";

export class ApiError extends Error {
  // status: HTTP status, or 0 for a network failure or timeout.
  // retryAfter: seconds from Retry-After on a 429/503, else null.
  constructor(message, { status = 0, code = null, param = null, retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.param = param;
    this.retryAfter = retryAfter;
  }

  get isAuth() { return this.status === 401; }
  get isBusy() { return this.status === 429; }
  get isNetwork() { return this.status === 0; }
}

// The key lives in sessionStorage unless the person asked to remember it; storage
// can be unavailable (private windows, file policies), so every access is guarded.
export const keyStore = {
  get() {
    for (const store of [sessionStorage, localStorage]) {
      try {
        const key = store.getItem(KEY_NAME);
        if (key) return key;
      } catch { /* storage disabled */ }
    }
    return "";
  },
  set(key, remember) {
    this.clear();
    try {
      (remember ? localStorage : sessionStorage).setItem(KEY_NAME, key);
    } catch { /* storage disabled */ }
    memoryKey = key;
  },
  clear() {
    memoryKey = "";
    for (const store of [sessionStorage, localStorage]) {
      try { store.removeItem(KEY_NAME); } catch { /* storage disabled */ }
    }
  },
};

function currentKey() {
  return keyStore.get() || memoryKey;
}

function authHeaders() {
  const key = currentKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds));
  const date = Date.parse(value); // Retry-After may also be an HTTP date
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
}

// Builds the error for a non-2xx answer from its body, which is OpenAI's
// {"error": {...}} on /v1/*, {"detail": ...} elsewhere, or anything a proxy sends.
function errorFrom(status, bodyText, retryAfterHeader) {
  const retryAfter = parseRetryAfter(retryAfterHeader);
  let message = "";
  let code = null;
  let param = null;
  try {
    const body = JSON.parse(bodyText);
    const err = body && body.error;
    if (err && typeof err === "object") {
      message = err.message || "";
      code = err.code || err.type || null;
      param = err.param || null;
    } else if (body && typeof body.detail === "string") {
      message = body.detail;
    }
  } catch { /* not JSON */ }
  if (status === 429) {
    const wait = retryAfter === null ? "" : ` Try again in ${retryAfter} s.`;
    message = `The server is busy with other transcriptions.${wait}`;
  } else if (!message) {
    message = status >= 500
      ? `The server had a problem (HTTP ${status}). Try again in a moment.`
      : `The request was refused (HTTP ${status}).`;
  }
  return new ApiError(message, { status, code, param, retryAfter });
}

function networkError(timedOut) {
  return new ApiError(
    timedOut
      ? "The server did not answer in time. Check your connection and try again."
      : "Cannot reach the server. Check your connection and try again.",
    { status: 0 },
  );
}

// fetch() with the auth header, a timeout and ApiError on failure; returns the Response.
export async function request(path, { method = "GET", body = null, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, {
      method,
      body,
      headers: { Accept: "application/json", ...authHeaders() },
      signal: controller.signal,
      cache: "no-store",
    });
  } catch (e) {
    throw networkError(e && e.name === "AbortError");
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    throw errorFrom(response.status, text, response.headers.get("Retry-After"));
  }
  return response;
}

export async function getJson(path, options) {
  const response = await request(path, options);
  return response.json();
}

// GET /health answers 503 while the model loads; that is information, not a failure.
export async function health() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10000);
  try {
    const response = await fetch("/health", { cache: "no-store", signal: controller.signal });
    const body = await response.json().catch(() => ({}));
    return { ok: response.ok, ...body };
  } finally {
    clearTimeout(timer);
  }
}

export async function listModels() {
  const body = await getJson("/v1/models");
  return Array.isArray(body.data) ? body.data : [];
}

export function getJob(jobId) {
  return getJson(`/v1/jobs/${encodeURIComponent(jobId)}`, { timeoutMs: 15000 });
}

export function cancelJob(jobId) {
  return getJson(`/v1/jobs/${encodeURIComponent(jobId)}`, { method: "DELETE" });
}

export function jobResult(jobId, format) {
  const path = `/v1/jobs/${encodeURIComponent(jobId)}/result?format=${encodeURIComponent(format)}`;
  return request(path, { timeoutMs: 60000 });
}

export async function jobAudio(jobId) {
  // Through fetch, not <audio src>, because an element cannot send the auth header.
  const response = await request(`/v1/jobs/${encodeURIComponent(jobId)}/audio`, { timeoutMs: 300000 });
  return response.blob();
}

// POST /v1/jobs with XMLHttpRequest rather than fetch, because only XHR reports
// upload progress, and a long recording can take a while to send.
export function submitJob(form, onUploadProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/jobs");
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onUploadProgress) onUploadProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch {
          reject(new ApiError("The server sent an unreadable answer.", { status: xhr.status }));
        }
      } else {
        reject(errorFrom(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
      }
    };
    xhr.onerror = () => reject(networkError(false));
    xhr.ontimeout = () => reject(networkError(true));
    xhr.send(form);
  });
}

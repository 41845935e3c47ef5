// The page's controller: choose or record audio, submit a job, follow it, show the result.

import * as api from "./api.js";
import { formatBytes } from "./files.js";
import { JobFollower } from "./follow.js";
import { showRecentJobs } from "./recent.js";
import { ResultPanel } from "./result.js";
import { setupSources } from "./sources.js";
import { formatTime } from "./transcript.js";
import { $, clearError, languageNames, setStatus, show, showError } from "./ui.js";

const HEALTH_RETRY_MS = 3000;
const STATUS_WORDS = { queued: "Waiting in the queue", running: "Transcribing" };

const state = {
  file: null, // the File chosen or recorded, until a new one replaces it
  fileUrl: null, // its object URL, for playback without downloading it again
  jobId: null,
  jobFileUrl: null, // object URL of the file submitted as jobId from this page
  follower: null,
  lastAnnounced: "",
  modelsLoaded: false,
};
const result = new ResultPanel(languageNames(), handleError);

// ---- server, key and models ----

async function checkServer() {
  let info;
  try {
    info = await api.health();
  } catch {
    $("server-info").textContent = "Cannot reach the server; retrying…";
    setTimeout(checkServer, HEALTH_RETRY_MS);
    return;
  }
  const model = info.model ? `model ${info.model}` : "";
  const device = [info.device, info.compute_type].filter(Boolean).join(", ");
  if (!info.ok) {
    $("server-info").textContent = info.status === "loading" ? `Loading ${model}…` : "Server not ready; retrying…";
    setTimeout(checkServer, HEALTH_RETRY_MS);
  } else {
    $("server-info").textContent = [model, device && `(${device})`, info.version && `v${info.version}`]
      .filter(Boolean).join(" ");
  }
  if (info.auth_required && !api.keyStore.get()) askForKey("This server needs an API key.");
  else if (!state.modelsLoaded) await loadModels();
}

async function loadModels() {
  let models;
  try {
    models = await api.listModels();
  } catch (error) {
    handleError(error, "Could not load the list of models");
    return;
  }
  const select = $("model-select");
  const keep = select.value;
  select.replaceChildren();
  // "whisper-1" is OpenAI's alias of the default model; people pick real names.
  const shown = models.filter((m) => m.id !== "whisper-1");
  for (const model of shown.length ? shown : models) {
    const option = new Option(model.id, model.id);
    const notes = [];
    if (model.default) notes.push("default");
    if (model.available_offline === false) notes.push("needs download");
    if (notes.length) option.textContent += ` (${notes.join(", ")})`;
    option.selected = keep ? model.id === keep : Boolean(model.default);
    select.append(option);
  }
  if (!select.options.length) select.append(new Option("Server default", ""));
  state.modelsLoaded = true;
  refreshRecent();
}

function refreshRecent() {
  return showRecentJobs($("recent-panel"), $("recent-list"));
}

function askForKey(message) {
  $("auth-message").textContent = message;
  show("auth-panel", true);
  $("api-key").focus();
}

$("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  api.keyStore.set(key, $("remember-key").checked);
  $("api-key").value = "";
  show("auth-panel", false);
  clearError();
  setStatus("API key saved.");
  await loadModels();
  if (state.jobId) followJob(state.jobId, null, state.jobFileUrl);
});

// Every failure ends up here: a 401 asks for the key, anything else is shown as is.
function handleError(error, context) {
  if (error.isAuth) {
    const message = api.keyStore.get()
      ? "The API key was not accepted. Enter a valid key."
      : "This server needs an API key.";
    api.keyStore.clear();
    askForKey(message);
    showError(message);
  } else {
    showError(`${context}: ${error.message}`);
  }
  setStatus("");
}

// ---- choosing audio ----

function useFile(file, description) {
  // Keep the URL alive while the player still plays that file.
  if (state.fileUrl && state.fileUrl !== result.audioUrl) URL.revokeObjectURL(state.fileUrl);
  state.file = file;
  state.fileUrl = file ? URL.createObjectURL(file) : null;
  $("chosen-file").textContent = file ? `${description || file.name} (${formatBytes(file.size)})` : "No audio chosen yet.";
  $("start-button").disabled = !file;
  clearError();
}

setupSources(useFile);

// ---- submitting and following a job ----

$("job-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!state.file) {
    showError("Choose or record audio first.");
    return;
  }
  const form = new FormData();
  form.append("file", state.file, state.file.name);
  const model = $("model-select").value;
  const language = $("language-select").value;
  if (model) form.append("model", model);
  if (language) form.append("language", language);
  form.append("task", new FormData($("job-form")).get("task") || "transcribe");

  clearError();
  result.reset();
  $("start-button").disabled = true;
  show("job-panel", true);
  show("cancel-button", false);
  show("new-button", false);
  setProgress(0);
  setStatus("Uploading…");
  let job;
  try {
    job = await api.submitJob(form, (fraction) => setStatus(`Uploading… ${Math.round(fraction * 100)}%`));
  } catch (error) {
    show("job-panel", false);
    $("start-button").disabled = false;
    const refused = error.status >= 400 && error.status < 500 && !error.isBusy;
    handleError(error, refused ? "The audio was not accepted" : "Could not start the transcription");
    return;
  }
  setJobInUrl(job.id);
  followJob(job.id, job, state.fileUrl);
  refreshRecent();
});

function setJobInUrl(jobId) {
  const url = new URL(window.location.href);
  url.search = "";
  url.hash = jobId ? `job=${encodeURIComponent(jobId)}` : "";
  history.replaceState(null, "", url);
  const link = $("job-link");
  link.replaceChildren();
  if (jobId) {
    const a = document.createElement("a");
    a.href = url.href;
    a.textContent = "this link";
    link.append("You can leave this page and come back through ", a, ".");
  }
}

function jobFromUrl() {
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("job");
  return fromHash || new URLSearchParams(window.location.search).get("job");
}

function setProgress(fraction) {
  const value = Math.min(1, Math.max(0, fraction || 0));
  $("job-progress").value = value;
  $("job-percent").textContent = `${Math.floor(value * 100)}%`;
}

// localUrl: object URL of the file this page submitted as jobId, for playback.
function followJob(jobId, job = null, localUrl = null) {
  if (state.follower) state.follower.stop();
  state.jobFileUrl = localUrl;
  state.jobId = jobId;
  show("job-panel", true);
  show("progress-row", true);
  $("job-title").textContent = "Progress";
  show("cancel-button", true);
  show("new-button", false);
  if (job) onJobUpdate(job);
  state.follower = new JobFollower(jobId, {
    onUpdate: onJobUpdate,
    onEnd: onJobEnd,
    onRetry: (error, delay, attempt) => setStatus(
      `${error.message} Retrying in ${delay} s (attempt ${attempt}).`),
    onFatal: (error) => {
      show("cancel-button", false);
      show("new-button", true);
      handleError(error, error.status === 404 ? "This job no longer exists" : "Could not follow the job");
    },
  });
  state.follower.start();
}

function onJobUpdate(job) {
  setProgress(job.progress);
  const words = STATUS_WORDS[job.status] || job.status;
  // Announce in steps of 10 %, not every poll, to keep screen readers usable.
  const step = Math.floor((job.progress || 0) * 10) * 10;
  const of = job.duration ? ` of ${formatTime(job.duration)}` : "";
  const text = job.status === "running" ? `${words}${of}… ${step}%` : `${words}…`;
  if (text !== state.lastAnnounced) {
    state.lastAnnounced = text;
    setStatus(text);
  }
}

const END_TITLES = { succeeded: "Finished", failed: "Failed", cancelled: "Cancelled" };

async function onJobEnd(job) {
  $("job-title").textContent = END_TITLES[job.status] || job.status;
  // A full bar says nothing more once the transcript is below it.
  show("progress-row", job.status !== "succeeded");
  show("cancel-button", false);
  show("new-button", true);
  $("start-button").disabled = !state.file;
  refreshRecent();
  if (job.status === "succeeded") {
    setProgress(1);
    await result.show(job, state.jobFileUrl);
  } else if (job.status === "failed") {
    const message = job.error && job.error.message ? job.error.message : "unknown error";
    showError(`The transcription failed: ${message}`);
    setStatus("");
  } else {
    setStatus("The job was cancelled.");
  }
}

$("cancel-button").addEventListener("click", async () => {
  if (!state.jobId) return;
  try {
    const job = await api.cancelJob(state.jobId);
    state.follower?.stop();
    await onJobEnd(job);
  } catch (error) {
    // 409 job_finished: it ended meanwhile, and the next poll will show how.
    if (error.status !== 409) handleError(error, "Could not cancel");
  }
});

$("new-button").addEventListener("click", () => {
  state.follower?.stop();
  state.jobId = null;
  setJobInUrl(null);
  show("job-panel", false);
  result.reset();
  clearError();
  setStatus("");
  $("start-button").disabled = !state.file;
  $("file-input").focus();
});

// ---- start-up ----

window.addEventListener("hashchange", () => {
  const jobId = jobFromUrl();
  if (jobId && jobId !== state.jobId) {
    result.reset();
    followJob(jobId);
  }
});

checkServer();
const linkedJob = jobFromUrl();
if (linkedJob) {
  setJobInUrl(linkedJob);
  followJob(linkedJob);
}

// The list of recent jobs (GET /v1/jobs), so that a person who closed the tab without
// keeping the link can still get back to a transcript.

import { getJson } from "./api.js";

const LIMIT = 10;
const STATUS_LABELS = {
  queued: "queued", running: "running", succeeded: "done", failed: "failed", cancelled: "cancelled",
};

function when(epochSeconds) {
  if (!epochSeconds) return "";
  return new Date(epochSeconds * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

// Fills `list` with links to the latest jobs; hides `panel` when there are none.
// Failures only hide the panel: the list is a convenience, and the main flow reports errors.
export async function showRecentJobs(panel, list) {
  let jobs;
  try {
    const body = await getJson(`/v1/jobs?limit=${LIMIT}`);
    jobs = Array.isArray(body.data) ? body.data : [];
  } catch {
    panel.hidden = true;
    return;
  }
  list.replaceChildren();
  for (const job of jobs) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#job=${encodeURIComponent(job.id)}`;
    link.textContent = job.filename || job.id;
    const meta = document.createElement("span");
    meta.className = "recent-meta";
    meta.textContent = " " + [STATUS_LABELS[job.status] || job.status, when(job.created_at)]
      .filter(Boolean).join(" · ");
    item.append(link, meta);
    list.append(item);
  }
  panel.hidden = jobs.length === 0;
}

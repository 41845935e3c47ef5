// Follows one job by polling GET /v1/jobs/{id} until it ends. Polling survives a
// flaky connection: failures are retried with backoff and reported, never swallowed,
// so the page always says what it is waiting for.

import { getJob } from "./api.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 1000; // a person watching a progress bar notices a slower cadence
const MAX_BACKOFF_MS = 30000;

export function isTerminal(status) {
  return TERMINAL.has(status);
}

export class JobFollower {
  // handlers: onUpdate(job), onEnd(job), onRetry(error, delaySeconds, attempt), onFatal(error)
  constructor(jobId, handlers) {
    this.jobId = jobId;
    this.handlers = handlers;
    this.timer = null;
    this.failures = 0;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.poll();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
  }

  schedule(delayMs) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.poll(), delayMs);
  }

  async poll() {
    if (this.stopped) return;
    let job;
    try {
      job = await getJob(this.jobId);
    } catch (error) {
      if (this.stopped) return;
      // Worth retrying: no connection, a timeout, a busy or briefly broken server.
      if (error.isNetwork || error.isBusy || error.status >= 500) {
        this.failures += 1;
        const backoff = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** this.failures);
        const delay = error.retryAfter ? Math.max(error.retryAfter * 1000, backoff) : backoff;
        this.handlers.onRetry(error, Math.round(delay / 1000), this.failures);
        this.schedule(delay);
      } else {
        this.stop();
        this.handlers.onFatal(error);
      }
      return;
    }
    if (this.stopped) return;
    this.failures = 0;
    if (isTerminal(job.status)) {
      this.stop();
      this.handlers.onEnd(job);
    } else {
      this.handlers.onUpdate(job);
      this.schedule(POLL_MS);
    }
  }
}

// Records from the microphone with MediaRecorder and hands back a File, so that a
// recording goes through the same upload path as a chosen file.

// Containers the server decodes (PyAV) in the order we prefer them; Chromium and
// Firefox record WebM/Opus, Safari records MP4/AAC.
const MIME_TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];

const EXTENSIONS = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" };

export function recordingSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
}

function pickMimeType() {
  return MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

function fileName(mimeType) {
  const base = mimeType.split(";")[0];
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return `recording-${stamp}.${EXTENSIONS[base] || "webm"}`;
}

// Why a recording could not start, in words a person can act on.
export function describeMicError(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "The browser did not allow the microphone. Allow it for this page (the page must be served over HTTPS or from localhost) and try again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found.";
    case "NotReadableError":
      return "The microphone is in use by another program.";
    default:
      return `Recording failed: ${error && error.message ? error.message : error}`;
  }
}

export class MicRecorder {
  constructor() {
    this.recorder = null;
    this.stream = null;
    this.chunks = [];
    this.startedAt = 0;
  }

  get recording() {
    return this.recorder !== null && this.recorder.state === "recording";
  }

  elapsedSeconds() {
    return this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const mimeType = pickMimeType();
    this.recorder = new MediaRecorder(this.stream, mimeType ? { mimeType } : undefined);
    this.chunks = [];
    this.recorder.ondataavailable = (event) => {
      if (event.data && event.data.size > 0) this.chunks.push(event.data);
    };
    // A timeslice, so that a long recording is not one huge buffer at the end.
    this.recorder.start(1000);
    this.startedAt = Date.now();
  }

  // Stops and resolves with the recording as a File (null if nothing was captured).
  stop() {
    return new Promise((resolve) => {
      const recorder = this.recorder;
      if (!recorder || recorder.state === "inactive") {
        resolve(null);
        return;
      }
      recorder.onstop = () => {
        const type = recorder.mimeType || this.chunks[0]?.type || "audio/webm";
        const blob = new Blob(this.chunks, { type });
        this.release();
        resolve(blob.size > 0 ? new File([blob], fileName(type), { type }) : null);
      };
      recorder.stop();
    });
  }

  release() {
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.recorder = null;
    this.chunks = [];
    this.startedAt = 0;
  }
}

// Where audio comes from: a chosen file, a file dropped on the page, or a microphone
// recording. Each ends in onFile(file, description), so all three upload the same way.

import { MicRecorder, describeMicError, recordingSupported } from "./recorder.js";
import { formatTime } from "./transcript.js";
import { $, clearError, setStatus, showError } from "./ui.js";

export function setupSources(onFile) {
  $("file-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) onFile(file);
  });

  const dropZone = $("drop-zone");
  for (const type of ["dragenter", "dragover"]) {
    dropZone.addEventListener(type, (event) => {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    dropZone.addEventListener(type, () => dropZone.classList.remove("dragging"));
  }
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) onFile(file);
  });
  // A file dropped next to the zone would make the browser navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  const recorder = new MicRecorder();
  let recordTimer = null;
  $("record-button").addEventListener("click", async () => {
    const button = $("record-button");
    if (recorder.recording) {
      clearInterval(recordTimer);
      const seconds = recorder.elapsedSeconds();
      const file = await recorder.stop();
      button.setAttribute("aria-pressed", "false");
      button.classList.remove("recording");
      $("record-label").textContent = "Record from microphone";
      if (file) onFile(file, `Recording, ${formatTime(seconds)}`);
      setStatus(file ? "Recording finished. Press Start to transcribe it." : "Nothing was recorded.");
      return;
    }
    clearError();
    try {
      await recorder.start();
    } catch (error) {
      recorder.release();
      showError(describeMicError(error));
      return;
    }
    button.setAttribute("aria-pressed", "true");
    button.classList.add("recording");
    $("record-label").textContent = "Stop recording";
    setStatus("Recording from the microphone…");
    $("record-time").textContent = "0:00";
    recordTimer = setInterval(() => { $("record-time").textContent = formatTime(recorder.elapsedSeconds()); }, 500);
  });
  if (!recordingSupported()) {
    $("record-button").disabled = true;
    $("record-label").textContent = "Recording not supported here";
  }
}

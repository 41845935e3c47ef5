// The transcript panel: loads a finished job's verbose_json, shows it with the audio
// player, and offers downloads in each format and copying the text.

import * as api from "./api.js";
import { copyText, downloadName, saveBlob } from "./files.js";
import { TranscriptView, describeTranscript } from "./transcript.js";
import { $, setStatus, show } from "./ui.js";

export class ResultPanel {
  // onError(error, context): how the page reports a failure (it knows about API keys).
  constructor(names, onError) {
    this.names = names;
    this.onError = onError;
    this.player = $("player");
    this.view = new TranscriptView($("segments"), this.player, names);
    this.jobId = null;
    this.uploadName = "";
    this.audioUrl = null;
    this.ownsAudioUrl = false; // true when we fetched the audio and must revoke its URL
    for (const button of document.querySelectorAll("[data-download]")) {
      button.addEventListener("click", () => this.download(button.dataset.download));
    }
    $("copy-button").addEventListener("click", () => this.copy());
  }

  reset() {
    show("result-panel", false);
    this.view.clear();
    this.player.pause();
    this.player.removeAttribute("src");
    if (this.audioUrl && this.ownsAudioUrl) URL.revokeObjectURL(this.audioUrl);
    this.audioUrl = null;
    this.ownsAudioUrl = false;
    this.jobId = null;
  }

  // localAudioUrl: object URL of the file this page uploaded for the job, else null
  // (then the audio comes from the server).
  async show(job, localAudioUrl) {
    this.reset();
    this.jobId = job.id;
    this.uploadName = job.filename || "";
    setStatus("Loading the transcript…");
    let transcript;
    try {
      transcript = await (await api.jobResult(job.id, "verbose_json")).json();
    } catch (error) {
      this.onError(error, "Could not load the transcript");
      return;
    }
    this.view.render(transcript);
    $("result-meta").textContent = describeTranscript(transcript, this.names);
    show("result-panel", true);
    const count = (transcript.segments || []).length;
    setStatus(count ? `Done: ${count} segment${count === 1 ? "" : "s"}.` : "Done, but no speech was found.");
    $("result-title").focus();
    await this.attachAudio(job.id, localAudioUrl);
  }

  async attachAudio(jobId, localAudioUrl) {
    let url = localAudioUrl;
    if (!url) {
      try {
        url = URL.createObjectURL(await api.jobAudio(jobId));
      } catch (error) {
        this.player.hidden = true;
        setStatus(`Done. The audio cannot be played here: ${error.message}`);
        return;
      }
      // The person may have moved on to another job while the audio downloaded.
      if (this.jobId !== jobId) {
        URL.revokeObjectURL(url);
        return;
      }
      this.ownsAudioUrl = true;
    }
    this.audioUrl = url;
    this.player.hidden = false;
    this.player.src = url;
  }

  async download(format) {
    if (!this.jobId) return;
    const name = downloadName(this.uploadName, format);
    try {
      const blob = await (await api.jobResult(this.jobId, format)).blob();
      saveBlob(blob, name);
      setStatus(`Downloaded ${name}.`);
    } catch (error) {
      this.onError(error, `Could not download ${name}`);
    }
  }

  async copy() {
    const ok = await copyText(this.view.plainText());
    setStatus(ok ? "The transcript was copied." : "Copying failed; select the text and copy it by hand.");
  }
}

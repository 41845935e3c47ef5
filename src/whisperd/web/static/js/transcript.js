// Shows a verbose_json transcript as a list of segments tied to the <audio> player:
// selecting a segment seeks there, and the segment being heard is highlighted.

export function formatTime(seconds) {
  const total = Math.max(0, seconds || 0);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = Math.floor(total % 60);
  const mm = h ? String(m).padStart(2, "0") : String(m);
  const ss = String(s).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function languageName(code, names) {
  return (code && names[code]) || code || "unknown";
}

// Every language that occurs in the segments, in order of first appearance.
function languagesOf(transcript) {
  const seen = [];
  for (const segment of transcript.segments || []) {
    if (segment.language && !seen.includes(segment.language)) seen.push(segment.language);
  }
  return seen.length ? seen : [transcript.language].filter(Boolean);
}

export function describeTranscript(transcript, names) {
  const parts = [];
  const languages = languagesOf(transcript);
  if (transcript.task === "translate") {
    parts.push(`Translated to English from ${languages.map((c) => languageName(c, names)).join(", ")}`);
  } else if (languages.length > 1) {
    parts.push(`Languages: ${languages.map((c) => languageName(c, names)).join(", ")}`);
  } else {
    let text = `Language: ${languageName(languages[0], names)}`;
    const p = transcript.language_probability;
    if (typeof p === "number" && p > 0 && p < 1) text += ` (${Math.round(p * 100)}% sure)`;
    parts.push(text);
  }
  if (transcript.duration) parts.push(`Duration: ${formatTime(transcript.duration)}`);
  const count = (transcript.segments || []).length;
  parts.push(`${count} segment${count === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

export class TranscriptView {
  constructor(list, player, names) {
    this.list = list;
    this.player = player;
    this.names = names;
    this.items = [];
    this.current = null;
    list.addEventListener("click", (event) => this.onSelect(event));
    list.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault(); // Space would otherwise scroll the page
        this.onSelect(event);
      }
    });
    player.addEventListener("timeupdate", () => this.highlight(player.currentTime));
    player.addEventListener("seeked", () => this.highlight(player.currentTime));
  }

  clear() {
    this.list.replaceChildren();
    this.items = [];
    this.current = null;
  }

  render(transcript) {
    this.clear();
    const mixed = languagesOf(transcript).length > 1;
    for (const segment of transcript.segments || []) {
      const item = document.createElement("li");
      item.className = "segment";
      item.tabIndex = 0;
      item.dataset.start = String(segment.start);
      item.dataset.end = String(segment.end);
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = formatTime(segment.start);
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = (segment.text || "").trim();
      // So that screen readers pronounce each segment in its own language.
      const spoken = transcript.task === "translate" ? "en" : segment.language || transcript.language;
      if (spoken) text.lang = spoken;
      // Read as "0:07, text" rather than two unrelated pieces.
      item.setAttribute("aria-label", `${formatTime(segment.start)}: ${text.textContent}`);
      item.setAttribute("aria-describedby", "segments-hint");
      item.append(time, text);
      if (mixed && segment.language) {
        const badge = document.createElement("span");
        badge.className = "lang";
        badge.lang = "en";
        badge.title = languageName(segment.language, this.names);
        badge.textContent = segment.language;
        item.append(badge);
      }
      this.list.append(item);
      this.items.push(item);
    }
  }

  onSelect(event) {
    const item = event.target.closest("li.segment");
    if (!item || !this.list.contains(item)) return;
    this.seek(Number(item.dataset.start));
  }

  seek(seconds) {
    if (!this.player.src) return;
    this.player.currentTime = seconds;
    this.highlight(seconds);
    // play() rejects when the browser blocks autoplay; the seek still happened.
    this.player.play().catch(() => {});
  }

  highlight(time) {
    let found = null;
    for (const item of this.items) {
      if (time >= Number(item.dataset.start) && time < Number(item.dataset.end)) {
        found = item;
        break;
      }
    }
    if (found === this.current) return;
    if (this.current) {
      this.current.classList.remove("playing");
      this.current.removeAttribute("aria-current");
    }
    this.current = found;
    if (found) {
      found.classList.add("playing");
      found.setAttribute("aria-current", "true");
      // Keep the spoken segment in view without yanking focus away from the player.
      found.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  plainText() {
    return this.items.map((item) => item.querySelector(".text").textContent).join("\n");
  }
}

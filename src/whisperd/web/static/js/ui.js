// Small DOM helpers shared by the page: element lookup, the status line and the error box.

export const $ = (id) => document.getElementById(id);

// The status line is an aria-live region: only write to it when the message changes,
// so screen readers are not flooded by every progress tick.
export function setStatus(text) {
  const status = $("status");
  if (status.textContent !== text) status.textContent = text;
}

export function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

export function clearError() {
  showError("");
}

export function show(id, visible) {
  $(id).hidden = !visible;
}

// Language code -> display name, read from the <select> the server rendered, so that
// the list of Whisper's languages exists in one place (whisperd.languages).
export function languageNames() {
  const names = {};
  for (const option of $("language-select").options) {
    if (option.value) names[option.value] = option.textContent.trim();
  }
  return names;
}

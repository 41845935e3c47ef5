// Saving and copying: Blob downloads with names derived from the upload, and the
// clipboard with a fallback for pages that are not a secure context (plain http on a LAN).

export const FORMAT_EXTENSIONS = { srt: "srt", vtt: "vtt", text: "txt", verbose_json: "json", json: "json", tsv: "tsv" };

// "talk.final.mp3" -> "talk.final"; anything a file system dislikes becomes "_".
export function baseName(uploadName) {
  const name = (uploadName || "").split(/[\\/]/).pop() || "";
  const stem = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : name;
  const cleaned = stem.replace(/[<>:"|?*\u0000-\u001f]/g, "_").trim();
  return cleaned || "transcript";
}

export function downloadName(uploadName, format) {
  return `${baseName(uploadName)}.${FORMAT_EXTENSIONS[format] || format}`;
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoke later: revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch { /* permission denied: try the old way */ }
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

// The page's only way out: calls to the handcalc API on this origin, their errors as
// ApiError with the API's own sentence, and the token kept in sessionStorage.

const TOKEN_KEY = "handcalc-api-token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

// `as`: "json" (asks for JSON) or "blob" (a PNG). `auth`: send the kept token.
export async function call(path, { method = "GET", json, form, auth = false, as = "json", signal } = {}) {
  const headers = {};
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  if (as === "json") headers.Accept = "application/json";
  if (auth) {
    const kept = token.get();
    if (!kept) throw new ApiError("token", "this needs the API token: enter it in the token field first");
    headers.Authorization = `Bearer ${kept}`;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, `the API cannot be reached (${error.message})`);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const answer = await response.json();
      detail = answer.detail ?? answer.error ?? detail;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) return null;
  return as === "blob" ? response.blob() : response.json();
}

// A multipart form of named blobs, e.g. upload({image: blob}).
export function upload(files) {
  const form = new FormData();
  for (const [field, blob] of Object.entries(files)) {
    form.append(field, blob, blob.name || `${field}.png`);
  }
  return form;
}

// "classifier v2" from an answer's `model`.
export function modelLabel(model) {
  return model ? `${model.name} v${model.version}` : "";
}

// A readable sentence for an error from `call`, saying what to do about a token.
export function explain(error) {
  if (error.status === 401) {
    return `The API refused the token (${error.detail}). Enter the right one in the token field.`;
  }
  const text = error.detail ?? error.message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

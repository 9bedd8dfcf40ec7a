// The service's HTTP API (README, "The HTTP interface"), at paths relative to the page so that
// it works under any --root-path. Every failure becomes an ApiError with the server's code and
// its English line.

const TIME_LIMIT_MS = 180_000; // beyond the server's own upload and work limits

export class ApiError extends Error {
  /** `status`: the HTTP status, 0 when the server could not be reached; `code`: the kind of
   * failure, stable (README, "The HTTP API"), or "network". */
  constructor(status, detail, code) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

export async function getCampaign() {
  return (await request("api/campaign")).json();
}

/** POST the photo `file` to api/<kind> with the options in `params` (a URLSearchParams). */
export async function postPhoto(kind, file, params) {
  const query = params.toString();
  return request(`api/${kind}${query ? `?${query}` : ""}`, {
    method: "POST",
    body: file,
    headers: { "Content-Type": file.type || "application/octet-stream" },
  });
}

async function request(url, init = {}) {
  let answer;
  try {
    answer = await fetch(url, { ...init, signal: AbortSignal.timeout(TIME_LIMIT_MS) });
  } catch (error) {
    throw new ApiError(0, error.message, "network");
  }
  if (!answer.ok) {
    const body = await answer.json().catch(() => ({}));
    throw new ApiError(answer.status, body.error || answer.statusText, body.code || "failed");
  }
  return answer;
}

// The HTTP API: relative paths (api/v1/...), so the client works under a
// path prefix; every error becomes an APIError with the server's code.

export const API = "api/v1/";

export class APIError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "APIError";
  }
}

/** unauthorized reports whether err means the session is gone. */
export function unauthorized(err: unknown): boolean {
  return err instanceof APIError && err.status === 401;
}

async function answer<T>(res: Response): Promise<T> {
  if (res.status === 204) return null as T;
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    // a proxy's HTML error page, for instance
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error ?? {};
    throw new APIError(res.status, e.code ?? "internal", e.message ?? `request failed (${res.status})`);
  }
  return data as T;
}

async function request(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(API + path, { credentials: "same-origin", ...init });
  } catch {
    throw new APIError(0, "unavailable", "cannot reach the server");
  }
}

/** api sends a JSON request and returns the decoded answer (null for 204). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  return answer<T>(await request(path, init));
}

/** upload posts a file as the raw body. */
export async function upload<T>(path: string, file: Blob): Promise<T> {
  return answer<T>(await request(path, { method: "POST", body: file }));
}

/** wsURL is the WebSocket address, relative to the page like the API. */
export function wsURL(base: string = location.href): string {
  const u = new URL(API + "ws", base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

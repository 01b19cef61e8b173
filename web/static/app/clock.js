// The server's clock, as seen from here. The server is the only clock that decides when an
// exam ends; the local wall clock may be wrong or changed mid-exam, so we keep the server
// time of one response and add the monotonic time (performance.now) elapsed since.

let base = null; // {server: epoch ms at the server, perf: performance.now() at that moment}

/** Remember the server time of a response, taken half-way through the request. */
export function syncClock(serverTimeIso, sentAt, receivedAt) {
  const server = Date.parse(serverTimeIso);
  if (Number.isNaN(server)) return;
  base = { server, perf: (sentAt + receivedAt) / 2 };
}

/** Now, in epoch milliseconds on the server's clock (the local clock only before a sync). */
export function serverNow() {
  return base ? base.server + (performance.now() - base.perf) : Date.now();
}

/** Seconds left until an ISO deadline, on the server's clock. */
export function secondsUntil(deadlineMs) {
  return (deadlineMs - serverNow()) / 1000;
}

// Client ids: unique per sender and growing with time (cheapest for the
// server's index): the time in base 36, this tab's random part, a counter.

const tab = Array.from(crypto.getRandomValues(new Uint8Array(6)), (x) => x.toString(16).padStart(2, "0")).join("");
let counter = 0;

export function newClientID(now: number = Date.now()): string {
  counter += 1;
  return `${now.toString(36).padStart(9, "0")}-${tab}-${counter}`;
}

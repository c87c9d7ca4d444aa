/**
 * One expensive synchronous step per turn of the event loop.
 *
 * Checking and validating a large new document costs a few milliseconds of synchronous work. When
 * ten arrive together (a client with ten connections), Node runs them back to back in one poll
 * phase, and everything else (a `/healthz` probe, another caller's cached dashboard) waits for all
 * of them: tens of milliseconds. Taking turns through `setImmediate` lets the loop go round between
 * two such steps, so other requests wait for at most one of them.
 *
 * Immediates queued while the check phase runs wait for the next loop iteration; so does the next
 * turn here, which is the point.
 */
const waiting: (() => void)[] = [];
let scheduled = false;

function grantNextTurn(): void {
  const turn = waiting.shift();
  if (waiting.length > 0) setImmediate(grantNextTurn);
  else scheduled = false;
  turn?.();
}

/** Resolves in a loop iteration of its own, after the turns already waiting. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(grantNextTurn);
    }
  });
}

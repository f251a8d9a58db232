// Resolves once the browser has painted what the current task drew.

const FALLBACK_MS = 250;

/**
 * A timeout after the next animation frame runs after that frame's paint. Hidden
 * pages get no frames: the fallback keeps callers from waiting forever.
 */
export function afterPaint() {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        resolve();
      }
    };
    requestAnimationFrame(() => setTimeout(finish, 0));
    setTimeout(finish, FALLBACK_MS);
  });
}

/**
 * Runs fn in a task after the next paint, queued behind the afterPaint() waits of the
 * same frame: work that can follow the first paint (the decision table) runs after
 * the tracks are on screen and after the time to paint them has been taken.
 */
export function afterPaintTask(fn) {
  afterPaint().then(() => setTimeout(fn, 0));
}

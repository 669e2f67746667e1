/**
 * One clock for every live timer on the page, ticking every TICK_MS only while some timer is
 * live. Time is epoch ms (performance.timeOrigin + now), the same base the workers report
 * power-on in, so page and worker clocks line up.
 */
export const epochNow = () => performance.timeOrigin + performance.now();

/** Interval between two clock updates, ms. */
export const TICK_MS = 100;

class TickClock {
  now = $state(epochNow());
  private users = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Keep the clock ticking until the returned function is called. */
  hold(): () => void {
    if (this.users++ === 0) this.tick();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.users === 0) clearTimeout(this.timer);
    };
  }

  // A timer, not an animation-frame loop: a frame callback asks for a main-thread frame 60 times a
  // second even when nothing changes. The update lands in the next frame the browser draws.
  private tick = () => {
    this.now = epochNow();
    this.timer = setTimeout(this.tick, TICK_MS);
  };
}

export const clock = new TickClock();

/**
 * One animation-frame clock for every live timer on the page, running only while some timer is
 * live. Time is epoch ms (performance.timeOrigin + now), the same base the workers report
 * power-on in, so page and worker clocks line up.
 */
export const epochNow = () => performance.timeOrigin + performance.now();

class FrameClock {
  now = $state(epochNow());
  private users = 0;
  private frame = 0;

  /** Keep the clock ticking until the returned function is called. */
  hold(): () => void {
    if (this.users++ === 0) this.tick();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.users === 0) cancelAnimationFrame(this.frame);
    };
  }

  private tick = () => {
    const t = epochNow();
    // 30 updates a second is smooth for a ms counter and halves the re-rendering of 60.
    if (t - this.now >= 30) this.now = t;
    this.frame = requestAnimationFrame(this.tick);
  };
}

export const clock = new FrameClock();

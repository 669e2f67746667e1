/**
 * Resolves in a later main-thread task (a timer task of its own), so what runs after the `await`
 * does not lengthen the current task. Each caller gets its own task: N callers waiting at once
 * run one after another, with rendering and input allowed in between.
 */
export const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve));

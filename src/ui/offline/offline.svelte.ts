/**
 * The page's side of the service worker (src/sw/sw.ts): register it once the page has loaded, tell
 * whether the lab is kept for offline use, and hold a new build until the user asks for it, so an
 * update never restarts machines in the middle of a race.
 */
import { errorText } from '../../core/errors.ts';

export type OfflineStatus = 'unsupported' | 'saving' | 'ready' | 'failed';

export class OfflineState {
  status = $state<OfflineStatus>('unsupported');
  /** A new build is installed and waiting for "reload to update". */
  updateReady = $state(false);
  /** Bytes this site stores (cache, IndexedDB, OPFS) and the browser's quota for it. */
  usage = $state<number | undefined>();
  quota = $state<number | undefined>();
  persisted = $state<boolean | undefined>();
  error = $state<string | undefined>();
  private registration: ServiceWorkerRegistration | undefined;

  /** Register ./sw.js (built by vite; absent in dev) after the page's own load. */
  async start(): Promise<void> {
    if (import.meta.env.DEV || !('serviceWorker' in navigator)) return;
    try {
      const reg = await navigator.serviceWorker.register('./sw.js', { scope: './' });
      // Some embedders (Playwright's `serviceWorkers: 'block'`) answer with no registration at all:
      // as without service workers, there is simply no offline copy.
      if (reg) {
        this.registration = reg;
        this.track(reg);
        reg.addEventListener('updatefound', () => this.track(reg));
      }
    } catch (err) {
      this.status = 'failed';
      this.error = errorText(err);
    }
    await this.refreshStorage();
  }

  private track(reg: ServiceWorkerRegistration) {
    // A build installing or waiting while another is active is an update, not the first copy.
    const isUpdate = !!reg.active;
    if (reg.active) this.status = 'ready';
    if (reg.waiting && isUpdate) this.updateReady = true;
    const incoming = reg.installing;
    if (!incoming) return;
    if (!isUpdate) this.status = 'saving';
    incoming.addEventListener('statechange', () => {
      if (incoming.state === 'installed' && isUpdate) this.updateReady = true;
      if (incoming.state === 'activated' && !isUpdate) this.status = 'ready';
      if (incoming.state === 'redundant' && !reg.active) {
        this.status = 'failed';
        this.error = 'the offline copy could not be saved (see the browser console)';
      }
      void this.refreshStorage();
    });
  }

  async refreshStorage(): Promise<void> {
    if (!navigator.storage?.estimate) return;
    const { usage, quota } = await navigator.storage.estimate();
    this.usage = usage;
    this.quota = quota;
    this.persisted = await navigator.storage.persisted?.();
  }

  /** Let the waiting build take over, then reload into it. */
  applyUpdate(): void {
    const waiting = this.registration?.waiting;
    if (!waiting) return location.reload();
    const reload = () => location.reload();
    // A page opened before the first copy existed has no controller to change: watch the worker.
    navigator.serviceWorker.addEventListener('controllerchange', reload, { once: true });
    waiting.addEventListener('statechange', () => waiting.state === 'activated' && reload());
    waiting.postMessage({ type: 'skip-waiting' });
  }
}

export const offline = new OfflineState();

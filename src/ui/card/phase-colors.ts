/** One colour per boot phase, the same on every card, timeline and table. */
export const PHASE_COLORS: Record<string, string> = {
  bios: '#7c3aed',
  bootloader: '#db2777',
  kernel: '#ea580c',
  init: '#ca8a04',
  services: '#16a34a',
  boxd: '#0891b2',
  login: '#0f172a',
  ready: '#0f172a',
  resume: '#0284c7',
  // container start
  host: '#94a3b8',
  request: '#64748b',
  layers: '#2563eb',
  namespaces: '#0d9488',
  mounts: '#65a30d',
  cgroup: '#d97706',
  network: '#c026d3',
  exec: '#e11d48',
  prompt: '#0f172a',
};

export const phaseColor = (phase: string) => PHASE_COLORS[phase] ?? '#64748b';

export { TerminalSession, loadXterm } from './terminal-session.ts';
export { default as TerminalView } from './terminal-view.svelte';
export { default as TerminalDrawer } from './terminal-drawer.svelte';

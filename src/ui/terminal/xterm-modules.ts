/**
 * xterm.js and the addons every terminal uses, as one lazily loaded chunk (terminal-session.ts).
 * About 300 kB of script: evaluated in a task of its own after the page's first one, so the race's
 * first main-thread task does not carry it (issue 10 item 6).
 */
export { Terminal } from '@xterm/xterm';
export { FitAddon } from '@xterm/addon-fit';
export { SearchAddon } from '@xterm/addon-search';
export { WebLinksAddon } from '@xterm/addon-web-links';

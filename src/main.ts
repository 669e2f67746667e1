// Entry point: read the setup from the URL (never failing on bad input), mount the app.
import { mount } from 'svelte';
import '@xterm/xterm/css/xterm.css';
import './ui/styles.css';
import App from './ui/app.svelte';
import { parseConfig } from './core/machine/index.ts';
import { emulatorModule } from './ui/machines/emulator-module.ts';
import { loadXterm } from './ui/terminal/terminal-session.ts';

// Compile the emulator while the page renders, so Start does not wait for it.
void emulatorModule();

const { config, errors } = parseConfig(location.search);
mount(App, { target: document.getElementById('app')!, props: { config, errors } });
// xterm (about 300 kB) in a task of its own after the first one, before any terminal is needed.
setTimeout(() => void loadXterm().catch(() => {}));
